"""scripts/publish_report.py: a report's numbers and table copied, its pictures made JPEGs and relinked."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "publish_report.py"


def _script():
    spec = importlib.util.spec_from_file_location("publish_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png(path: Path, value: float) -> None:
    pixels = np.full((32, 48, 3), value, np.float32)
    image = oiio.ImageBuf(oiio.ImageSpec(48, 32, 3, oiio.UINT8))
    image.set_pixels(oiio.ROI(0, 48, 0, 32), pixels)
    assert image.write(str(path))


def test_publish_copies_numbers_and_relinks_jpeg_pictures(tmp_path):
    report = tmp_path / "work" / "report"
    report.mkdir(parents=True)
    (report / "metrics.json").write_text('{"results": ["own"]}\n')
    (report / "summary.md").write_text("| a | b |\n\n![contact sheet](contact_sheet.png)\n\n![curves](curves.png)\n")
    _png(report / "contact_sheet.png", 0.5)
    _png(report / "curves.png", 0.25)
    written = _script().publish(tmp_path / "work", tmp_path / "docs")
    assert sorted(p.name for p in written) == ["contact_sheet.jpg", "curves.jpg", "metrics.json", "summary.md"]
    assert (tmp_path / "docs" / "metrics.json").read_text() == '{"results": ["own"]}\n'
    summary = (tmp_path / "docs" / "summary.md").read_text()
    assert "(contact_sheet.jpg)" in summary and "(curves.jpg)" in summary and ".png" not in summary
    sheet = oiio.ImageBuf(str(tmp_path / "docs" / "contact_sheet.jpg"))
    assert sheet.spec().format == oiio.UINT8 and (sheet.spec().width, sheet.spec().height) == (48, 32)
    assert abs(float(sheet.get_pixels(oiio.FLOAT).mean()) - 0.5) < 0.01


def test_publish_refuses_an_unfinished_report(tmp_path):
    (tmp_path / "work" / "report").mkdir(parents=True)
    with pytest.raises(SystemExit, match="metrics.json missing|not a finished report"):
        _script().publish(tmp_path / "work", tmp_path / "docs")
    assert not (tmp_path / "docs").exists()
