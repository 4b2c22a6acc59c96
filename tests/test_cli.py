"""The `dubkernels` command line, run in-process through its entry point."""
from __future__ import annotations

import json

import pytest

from dubkernels.cli.main import build_parser, main
from dubkernels.errors import EXIT_USER_ERROR
from dubkernels.io.frames import read_frame
from dubkernels.sample import make_sample
from dubkernels.tracks import FLAGS


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return make_sample(tmp_path_factory.mktemp("cli") / "shot", 5)


def test_analyze_and_preview_commands(sample, tmp_path, capsys):
    track = tmp_path / "actor.json"
    assert main(["analyze", sample.actor, "--out", str(track), "--frames", "1002-1004"]) == 0
    data = json.loads(track.read_text())
    assert [r["frame"] for r in data["records"]] == [1002, 1003, 1004]
    assert "3 detected" in capsys.readouterr().out
    assert main(["preview", sample.actor, "--track", str(track), "--out", str(tmp_path / "pv"), "--no-movie"]) == 0
    assert (tmp_path / "pv" / "preview_sheet.png").is_file()
    assert not (tmp_path / "pv" / "preview.mp4").exists()
    sheet = read_frame(tmp_path / "pv" / "preview_sheet.png")
    assert sheet.pixels.shape[2] == 3


def test_preview_draws_every_kind_of_frame_a_track_can_hold(sample, tmp_path):
    """Generated faces are tracked with a guide, so their tracks hold 'guided' frames: preview draws them too."""
    track = tmp_path / "actor.json"
    assert main(["analyze", sample.actor, "--out", str(track), "--progress", "none"]) == 0
    data = json.loads(track.read_text())
    for record, flag in zip(data["records"], FLAGS):
        record["flag"] = flag
        if flag == "missing":
            record["landmarks"] = record["box"] = record["pose"] = None
    track.write_text(json.dumps(data))
    assert main(["preview", sample.actor, "--track", str(track), "--out", str(tmp_path / "pv"), "--no-movie"]) == 0
    assert (tmp_path / "pv" / "preview_sheet.png").is_file()


def test_preview_refuses_a_track_of_another_plate(sample, tmp_path, capsys):
    track = tmp_path / "dubber.json"
    assert main(["analyze", sample.dubber, "--out", str(track), "--progress", "none"]) == 0
    code = main(["preview", sample.actor, "--track", str(track), "--out", str(tmp_path / "pv"), "--no-movie"])
    assert code == EXIT_USER_ERROR and "the track was made from" in capsys.readouterr().err


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    code = main(["analyze", str(tmp_path / "none.####.exr"), "--out", str(tmp_path / "t.json")])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert "dubkernels analyze: error: no frames found" in err and "Traceback" not in err
    code = main(["preview", str(tmp_path / "none.####.exr"), "--track", str(tmp_path / "t.json"), "--out", str(tmp_path)])
    assert code == EXIT_USER_ERROR and "run `dubkernels analyze`" in capsys.readouterr().err
    assert main(["demo", str(tmp_path / "d"), "--actor", "a.mov"]) == EXIT_USER_ERROR
    assert "give both --actor and --dubber" in capsys.readouterr().err


def test_write_job_checks_and_writes_any_kind(sample, tmp_path, capsys):
    spec = tmp_path / "analyze.json"
    assert main(["analyze", sample.actor, "--out", "t.json", "--max-gap", "2", "--write-job", str(spec)]) == 0
    job = json.loads(spec.read_text())
    assert job["stage"] == "analyze" and job["params"] == {"max_gap": 2} and job["inputs"]["plate"] == sample.actor
    assert main(["analyze", sample.actor, "--out", "t.json", "--detect-size", "10", "--write-job", str(spec)]) == 2
    assert "detect_size=10 is out of range; use 64 to 8192" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["ingest", "analyze", "sample", "preview", "demo", "run", "pose-align", "stabilize",
                                     "mouth-composite", "train", "swap", "dub", "report", "describe"])
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert len(capsys.readouterr().out) > 200
    assert command in build_parser().format_help()


def test_sample_size_floor_matches_the_engine():
    from dubkernels.cli.sample import MIN_SIZE
    from dubkernels.sample import MIN_SIZE as ENGINE_MIN

    assert MIN_SIZE == ENGINE_MIN
