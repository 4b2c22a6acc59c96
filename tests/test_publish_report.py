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


def test_the_worst_frames_are_three_moments_and_are_published_when_the_report_has_them(tmp_path):
    from dubkernels.report.collect import ShotMetrics
    from dubkernels.report.pictures import worst_frames

    frames = list(range(1001, 1061))
    lmd = np.zeros(60)
    lmd[[10, 11, 12, 40, 55]] = [0.9, 0.95, 0.8, 0.5, 0.3]  # one bad moment of three frames, two lesser ones
    lmd[20] = np.nan
    metrics = ShotMetrics(frames, results=["own"])
    metrics.curves["lmd_own"] = lmd.tolist()
    assert worst_frames(metrics, "own") == [1012, 1041, 1056]
    assert worst_frames(metrics, "own", apart=1) == [1011, 1012, 1013]
    report = tmp_path / "work" / "report"
    report.mkdir(parents=True)
    (report / "metrics.json").write_text("{}\n")
    (report / "summary.md").write_text("![curves](curves.png)\n\n![worst frames](worst_frames.png)\n")
    for name in ("contact_sheet", "curves", "worst_frames"):
        _png(report / f"{name}.png", 0.5)
    written = _script().publish(tmp_path / "work", tmp_path / "docs")
    assert "worst_frames.jpg" in [p.name for p in written]
    assert "(worst_frames.jpg)" in (tmp_path / "docs" / "summary.md").read_text()
