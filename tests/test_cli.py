"""The `dubkernels` command line, run in-process through its entry point."""
from __future__ import annotations

import json

import pytest

from dubkernels.cli.main import build_parser, main
from dubkernels.demo import run_demo
from dubkernels.errors import EXIT_USER_ERROR
from dubkernels.io.frames import read_frame


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo") / "shot", frames=5)


def test_demo_tracks_the_sample_mouth(demo):
    for take in demo.takes:
        assert take.counts["detected"] == 5
        assert take.mouth_error_iod < 0.1, take.name  # dlib's lips sit on the true lips
        assert take.preview.contact_sheet.stat().st_size > 10_000
        assert take.preview.movie.stat().st_size > 1_000


def test_analyze_and_preview_commands(demo, tmp_path, capsys):
    actor = demo.takes[0].pattern
    track = tmp_path / "actor.json"
    assert main(["analyze", actor, "--out", str(track), "--frames", "1002-1004"]) == 0
    data = json.loads(track.read_text())
    assert [r["frame"] for r in data["records"]] == [1002, 1003, 1004]
    assert "3 detected" in capsys.readouterr().out
    assert main(["preview", actor, "--track", str(track), "--out", str(tmp_path / "pv"), "--no-movie"]) == 0
    assert (tmp_path / "pv" / "preview_sheet.png").is_file()
    assert not (tmp_path / "pv" / "preview.mp4").exists()
    sheet = read_frame(tmp_path / "pv" / "preview_sheet.png")
    assert sheet.pixels.shape[2] == 3


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    code = main(["analyze", str(tmp_path / "none.####.exr"), "--out", str(tmp_path / "t.json")])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert "dubkernels analyze: error: no frames found" in err and "Traceback" not in err
    code = main(["preview", str(tmp_path / "none.####.exr"), "--track", str(tmp_path / "t.json"), "--out", str(tmp_path)])
    assert code == EXIT_USER_ERROR and "run `dubkernels analyze`" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", ["ingest", "analyze", "sample", "preview", "demo", "run", "pose-align", "stabilize", "mouth-composite"]
)
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert len(capsys.readouterr().out) > 200
    assert command in build_parser().format_help()
