"""The job contract: declarations without heavy imports, `describe --json`, `--progress json`,
sequence-level job kinds (ingest, analyze, train) run from job specs, and the refusals users met."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dubkernels.cli.main import main
from dubkernels.errors import EXIT_USER_ERROR, DubKernelsError
from dubkernels.io.files import atomic_write_text
from dubkernels.io.frames import new_frame, read_frame, read_provenance, write_frame
from dubkernels.io.sequences import parse_frames
from dubkernels.jobs.kinds import KINDS
from dubkernels.jobs.spec import Job, save_job
from dubkernels.pipeline.runner import run_job
from dubkernels.tracks import file_digest, load_track, save_track
from tests.conftest import REPO
from tests.stage_data import Layered, Shot, make_layered

HEAVY = ("torch", "dlib", "OpenImageIO", "cv2", "av")


def test_parser_and_declarations_import_nothing_heavy():
    code = ("import sys, json; from dubkernels.cli.main import build_parser; build_parser().format_help(); "
            "from dubkernels.jobs.kinds import describe; describe(); "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(done.stdout) == []


def test_describe_json_lists_every_kind_with_typed_params(capsys):
    assert main(["describe", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    kinds = {k["name"]: k for k in data["kinds"]}
    assert set(kinds) == set(KINDS) >= {"ingest", "analyze", "train", "pose_align", "identity_swap", "stabilize",
                                        "mouth_composite"}
    grow = {p["name"]: p for p in kinds["mouth_composite"]["params"]}["grow"]
    assert grow == {"name": "grow", "type": "float", "default": 0.15, "min": -0.5, "max": 2.0,
                    "help": grow["help"], "changes_result": True}
    blend = {p["name"]: p for p in kinds["mouth_composite"]["params"]}["blend"]
    assert blend["choices"] == ["linear", "poisson"]
    workers = {p["name"]: p for p in kinds["train"]["params"]}["workers"]
    assert workers["changes_result"] is False
    assert [p["name"] for p in kinds["analyze"]["inputs"]][0] == "plate"
    assert {"name": "out", "kind": "track", "help": kinds["analyze"]["outputs"][0]["help"],
            "optional": False} == kinds["analyze"]["outputs"][0]


@pytest.fixture(scope="module")
def layered(tmp_path_factory) -> Layered:
    return make_layered(tmp_path_factory.mktemp("kinds"))


@pytest.fixture(scope="module")
def shot(layered) -> Shot:
    return layered.shot


def test_progress_json_lines_on_stderr(layered, tmp_path, capsys):
    shot, out = layered.shot, tmp_path / "comp.####.exr"
    assert main(["mouth-composite", "--actor", shot.actor, "--actor-track", shot.actor_track, "--face", layered.face,
                 "--face-track", layered.face_track, "--out", str(out), "--workers", "1", "--progress", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0] == {"event": "start", "step": "mouth_composite", "done": 0, "total": 4, "unit": "frame"}
    frames = [e["frame"] for e in lines if e["event"] == "progress"]
    assert frames == [1001, 1002, 1003, 1004] and lines[-1]["event"] == "finish" and lines[-1]["done"] == 4


def test_bars_do_not_print_an_empty_line_before_the_work(layered, tmp_path, capfd):
    assert main(["stabilize", "--face", layered.face, "--face-track", layered.face_track, "--out",
                 str(tmp_path / "s.####.exr"), "--workers", "1"]) == 0
    assert not re.search(r"(^|[\s\r:])0frame", capfd.readouterr().err)  # an empty bar, not a rate like 188.70frame/s


def test_analyze_runs_from_a_job_file_with_relative_paths_and_skips_when_current(shot, tmp_path, capsys):
    jobs = tmp_path / "jobs"
    plate = Path(shot.actor)
    job = Job("analyze", {"plate": os.path.relpath(plate, jobs)}, {"out": "../tracks/a.track.json"}, "1001-1002")
    save_job(job, jobs / "analyze.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = os.getcwd()
    os.chdir(elsewhere)  # a farm task starts anywhere
    try:
        assert main(["run", str(jobs / "analyze.json")]) == 0
        assert "2 detected" in capsys.readouterr().out
        track = load_track(tmp_path / "tracks" / "a.track.json")
        assert track.frames == [1001, 1002] and track.job
        assert main(["run", str(jobs / "analyze.json")]) == 0
        assert "is current" in capsys.readouterr().out
    finally:
        os.chdir(cwd)


def test_ingest_refuses_to_mix_clips_into_an_existing_sequence(tmp_path, capsys):
    from tests.test_video import write_clip

    first, second = write_clip(tmp_path / "a.mov", 4, 100), write_clip(tmp_path / "b.mov", 4, 200)
    out = str(tmp_path / "plate" / "p.####.exr")
    assert main(["ingest", str(first), out, "--colourspace", "srgb_tx"]) == 0
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "plate").glob("*.exr")}
    assert main(["ingest", str(first), out, "--colourspace", "srgb_tx"]) == 0  # same job: skipped
    assert "4 skipped" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert main(["ingest", str(second), out, "--colourspace", "srgb_tx"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "p.1001.exr exists (ingested from" in err and "--force" in err
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing replaced
    assert main(["ingest", str(second), out, "--colourspace", "srgb_tx", "--force"]) == 0
    assert read_provenance(tmp_path / "plate" / "p.1001.exr")["source"] == str(second.resolve())


def test_stage_outputs_never_replace_files_dubkernels_did_not_write(layered, tmp_path, capsys):
    shot, comp = layered.shot, tmp_path / "comp.1002.exr"
    write_frame(comp, new_frame(np.zeros((4, 4, 3), np.float32)))  # someone else's file
    args = ["mouth-composite", "--actor", shot.actor, "--actor-track", shot.actor_track, "--face", layered.face,
            "--face-track", layered.face_track, "--out", str(tmp_path / "comp.####.exr"), "--workers", "1"]
    assert main(args) == EXIT_USER_ERROR
    assert "comp.1002.exr exists and was not written by dubkernels" in capsys.readouterr().err
    assert not (tmp_path / "comp.1001.exr").exists()  # refused before any frame was written
    assert main(args + ["--force"]) == 0


def test_outputs_get_the_umask_mode(shot, tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "t.json", "{}")
        write_frame(tmp_path / "f.exr", new_frame(np.zeros((2, 2, 3), np.float32)))
        save_track(load_track(shot.actor_track), tmp_path / "track.json")
    finally:
        os.umask(old)
    for name in ("t.json", "f.exr", "track.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_an_unwritable_output_folder_is_a_clear_error(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(DubKernelsError, match=r"cannot write in .*out \(Permission denied\); choose a writable"):
        atomic_write_text(tmp_path / "out" / "t.json", "{}")


def test_zero_workers_and_reversed_ranges_are_refused(layered, tmp_path, capsys):
    args = ["stabilize", "--face", layered.face, "--face-track", layered.face_track, "--out", str(tmp_path / "s.####.exr")]
    for bad in ("0", "-2"):
        with pytest.raises(SystemExit):
            main(args + ["--workers", bad])
        assert "must be at least 1" in capsys.readouterr().err
    with pytest.raises(DubKernelsError, match="runs backwards .*1001-1004"):
        parse_frames("1004-1001")
    assert main(args + ["--frames", "1004-1001"]) == EXIT_USER_ERROR
    with pytest.raises(DubKernelsError, match="must be at least 1"):
        run_job(Job("stabilize", {"face": layered.face, "face_track": layered.face_track},
                    {"out": str(tmp_path / "s.####.exr")}), workers=0)


def test_a_track_from_another_plate_is_refused_and_a_stale_one_named(layered, tmp_path):
    shot = layered.shot
    job = Job("mouth_composite", {"actor": shot.actor, "actor_track": shot.dubber_track, "face": layered.face,
                                  "face_track": layered.face_track}, {"out": str(tmp_path / "c.####.exr")})
    with pytest.raises(DubKernelsError, match="actor_track: the track was made from .*dubber.*analyze this plate"):
        run_job(job, workers=1)
    copy = tmp_path / "actor" / "a.####.exr"
    for f in shot.frames:  # the plate, frame 1003 re-rendered after the analysis
        frame = read_frame(shot.actor.replace("####", str(f)))
        if f == 1003:
            frame.pixels[0, 0, 0] += np.float16(0.5)
        write_frame(str(copy).replace("####", str(f)), frame)
    track = load_track(shot.actor_track)
    track.source = str(copy)
    save_track(track, tmp_path / "a.track.json")
    staled = Job("mouth_composite", {"actor": str(copy), "actor_track": str(tmp_path / "a.track.json"),
                                     "face": layered.face, "face_track": layered.face_track},
                 {"out": str(tmp_path / "c2.####.exr")})
    summary = run_job(staled, workers=1)
    assert any("frames 1003 changed since the track was made" in n for n in summary.notes)


def test_a_hand_edited_point_far_off_the_face_is_refused(shot, tmp_path):
    data = json.loads(Path(shot.actor_track).read_text())
    data["records"][1]["landmarks"][30] = [5000.0, -4000.0]
    (tmp_path / "edited.json").write_text(json.dumps(data))
    with pytest.raises(DubKernelsError, match=r"frame 1002 landmark 30 at \(5000, -4000\) is far off the face"):
        load_track(tmp_path / "edited.json")


def test_a_changed_input_frame_re_renders_only_that_frame(layered, tmp_path):
    shot, face = layered.shot, tmp_path / "face" / "f.####.exr"
    for f in shot.frames:
        src = read_frame(layered.face.replace("####", str(f)))
        write_frame(str(face).replace("####", str(f)), src)
    track = load_track(layered.face_track)
    for r in track.records:
        r.digest = file_digest(str(face).replace("####", str(r.frame)))
    save_track(track, tmp_path / "f.track.json")
    job = Job("stabilize", {"face": str(face), "face_track": str(tmp_path / "f.track.json")},
              {"out": str(tmp_path / "out" / "s.####.exr")})
    assert run_job(job, workers=1).done == shot.frames
    assert run_job(job, workers=1).done == []
    frame = read_frame(str(face).replace("####", "1002"))
    frame.pixels[0, 0, 0] += np.float16(0.25)
    write_frame(str(face).replace("####", "1002"), frame)
    again = run_job(job, workers=1)
    assert again.done == [1002] and again.skipped == [1001, 1003, 1004]


def test_a_dub_replaces_its_own_copy_of_a_take_when_the_shot_names_a_new_clip(tmp_path):
    from dubkernels.tasks.ingest import run_ingest
    from tests.test_video import write_clip

    longer, shorter = write_clip(tmp_path / "a.mov", 5, 100), write_clip(tmp_path / "b.mov", 3, 200)
    out = str(tmp_path / "plate" / "p.####.exr")
    params = {"colourspace": "srgb_tx", "replace_ingested": True}
    run_ingest(Job("ingest", {"clip": str(longer)}, {"out": out}, None, params))
    write_frame(tmp_path / "plate" / "p.1010.exr", new_frame(np.zeros((4, 4, 3), np.float32)))  # not ingested
    summary = run_ingest(Job("ingest", {"clip": str(shorter)}, {"out": out}, None, params))
    assert summary.done == [1001, 1002, 1003]
    assert read_provenance(tmp_path / "plate" / "p.1001.exr")["source"] == str(shorter.resolve())
    assert not (tmp_path / "plate" / "p.1004.exr").exists() and (tmp_path / "plate" / "p.1010.exr").exists()
    assert any("1004-1005: an earlier clip's, beyond this one's end; removed" in n for n in summary.notes)
