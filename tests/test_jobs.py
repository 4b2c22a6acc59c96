"""Job spec files: round trip, relative paths, identity (params, OCIO, input content), clear errors."""
from __future__ import annotations

import dataclasses

import json
import os
import time

import numpy as np
import pytest

from dubkernels.io.frames import new_frame, write_frame
from dubkernels.jobs.identity import frame_fingerprint, job_identity
from dubkernels.jobs.kinds import KINDS
from dubkernels.jobs.spec import Job, JobError, load_job, save_job
from dubkernels.pipeline.runner import make_stage


def test_round_trip_resolves_relative_paths_against_the_job_folder(tmp_path):
    job = Job("stabilize", {"face": "f.####.exr", "face_track": "/abs/f.json"}, {"out": "o/o.####.exr"}, "1-5",
              {"beta": 0.2}, "conf/config.ocio")
    save_job(job, tmp_path / "jobs" / "j.json")
    back = load_job(tmp_path / "jobs" / "j.json")
    folder = tmp_path / "jobs"
    assert back.inputs == {"face": str(folder / "f.####.exr"), "face_track": "/abs/f.json"}
    assert back.outputs == {"out": str(folder / "o" / "o.####.exr")}
    assert back.ocio == str(folder / "conf" / "config.ocio")
    assert (back.frames, back.params) == ("1-5", {"beta": 0.2})
    assert Job("x", {}, {}, ocio="ocio://default").relative_to(folder).ocio == "ocio://default"


def _stabilize_job(tmp_path, **params) -> Job:
    return Job("stabilize", {"face": str(tmp_path / "f.####.exr"), "face_track": str(tmp_path / "f.json")},
               {"out": str(tmp_path / "o.####.exr")}, None, params)


def test_identity_covers_params_ocio_and_track_content_not_paths_or_chunks(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)
    kind = KINDS["stabilize"]
    (tmp_path / "f.json").write_text("{}")
    job = _stabilize_job(tmp_path, beta=0.2)
    base = job_identity(job, kind)
    chunk = Job(job.stage, job.inputs, job.outputs, "6-9", job.params)
    assert job_identity(chunk, kind) == base  # chunks of one job share it
    assert job_identity(_stabilize_job(tmp_path, beta=0.3), kind) != base
    assert job_identity(_stabilize_job(tmp_path, beta=0.2, fps=0.0), kind) == base  # a default changes nothing
    fields = {f.name: f for f in dataclasses.fields(kind.params)}
    original = fields["min_cutoff"].default
    monkeypatch.setattr(fields["min_cutoff"], "default", original + 0.3)  # a new version's default
    assert job_identity(job, kind) != base  # reruns what the old default made
    monkeypatch.setattr(fields["min_cutoff"], "default", original)
    other_ocio = Job(job.stage, job.inputs, job.outputs, None, job.params, "ocio://studio-config-latest")
    assert job_identity(other_ocio, kind) != base
    monkeypatch.setenv("OCIO", "ocio://studio-config-latest")
    assert job_identity(job, kind) != base  # $OCIO is the config in use when the job names none
    monkeypatch.delenv("OCIO")
    (tmp_path / "f.json").write_text('{"changed": 1}')
    assert job_identity(job, kind) != base  # the track's content, not its path
    moved = tmp_path / "moved"
    moved.mkdir()
    os.replace(tmp_path / "f.json", moved / "f.json")
    (tmp_path / "f.json").write_text('{"changed": 1}')
    assert job_identity(_stabilize_job(moved, beta=0.2), kind) == job_identity(job, kind)


def test_identity_ignores_values_that_do_not_change_the_result(tmp_path):
    kind = KINDS["identity_swap"]
    job = Job("identity_swap", {"face": "f.####.exr", "face_track": "t.json", "checkpoint": "c.safetensors"},
              {"out": "o.####.exr"})
    batched = Job(job.stage, job.inputs, job.outputs, params={"batch": 2})
    assert job_identity(job, kind) == job_identity(batched, kind)


def test_bad_job_files(tmp_path):
    with pytest.raises(JobError, match="job file .* not found"):
        load_job(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(JobError, match="not valid JSON"):
        load_job(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(JobError, match="not a dubkernels job"):
        load_job(bad)
    bad.write_text(json.dumps({"format": "dubkernels-job", "version": 7}))
    with pytest.raises(JobError, match="job version 7 is not supported"):
        load_job(bad)
    bad.write_text(json.dumps({"format": "dubkernels-job", "version": 1, "stage": "x"}))
    with pytest.raises(JobError, match="needs 'stage', 'inputs' and 'outputs'"):
        load_job(bad)
    good = {"format": "dubkernels-job", "version": 1, "stage": "analyze", "inputs": {"plate": "p.####.exr"},
            "outputs": {"out": "t.json"}}
    for key, value, message in (("frames", 12, '"frames" is 12; it must be a frame range string'),
                                ("ocio", 7, '"ocio" is 7; it must be an OCIO config path'),
                                ("params", [1], '"params" is \\[1\\]; it must be an object'),
                                ("inputs", {"plate": 3}, 'inputs "plate" is 3; it must be a path')):
        bad.write_text(json.dumps({**good, key: value}))
        with pytest.raises(JobError, match=message):
            load_job(bad)
    with pytest.raises(JobError, match="unknown stage 'gpen'"):
        make_stage(Job("gpen", {}, {}))
    with pytest.raises(JobError, match="not a per-frame stage"):
        make_stage(Job("analyze", {}, {}))


def test_outputs_over_each_other_or_over_an_input_are_refused(tmp_path):
    kind = KINDS["mouth_composite"]
    inputs = {"actor": str(tmp_path / "a.####.exr"), "actor_track": str(tmp_path / "a.json"),
              "face": str(tmp_path / "f.####.exr"), "face_track": str(tmp_path / "f.json")}
    same = str(tmp_path / "out.####.exr")
    with pytest.raises(JobError, match="outputs out and mask both name .*out.####.exr: one would write over the other"):
        kind.check_ports(Job("mouth_composite", inputs, {"out": same, "mask": str(tmp_path / "." / "out.####.exr")}))
    with pytest.raises(JobError, match="output out names input actor's .*a.####.exr: it would write over its own"):
        kind.check_ports(Job("mouth_composite", inputs, {"out": inputs["actor"]}))
    kind.check_ports(Job("mouth_composite", inputs, {"out": same, "mask": str(tmp_path / "mask.####.exr")}))


def test_a_summary_replaces_earlier_runs_over_its_frames_and_keeps_other_chunks(tmp_path):
    from dubkernels.jobs.summary import Summary, stage_warnings, write_summary

    pattern = str(tmp_path / "own.####.exr")
    write_summary(Summary("own_mouth", "a", "1-40", notes=["chunk 1-40, old run"]), pattern, list(range(1, 41)))
    write_summary(Summary("own_mouth", "a", "41-80", notes=["chunk 41-80"]), pattern, list(range(41, 81)))
    assert stage_warnings(pattern) == ["chunk 1-40, old run", "chunk 41-80"]
    write_summary(Summary("own_mouth", "b", "1-20", notes=["chunk 1-20, new run"]), pattern, list(range(1, 21)))
    assert stage_warnings(pattern) == ["chunk 1-20, new run", "chunk 41-80"]
    write_summary(Summary("own_mouth", "b", "1-100", notes=["whole shot"]), pattern, list(range(1, 101)))
    assert stage_warnings(pattern) == ["whole shot"]
    assert len(list(tmp_path.glob("own.*.summary.json"))) == 1


def test_a_plate_frame_replaced_with_its_mtime_put_back_is_a_changed_frame(tmp_path):
    plate = tmp_path / "plate.1001.exr"
    plate.write_bytes(b"a" * 4096)
    before, stat = frame_fingerprint(plate), os.stat(plate)
    time.sleep(0.01)
    plate.write_bytes(b"b" * 4096)  # other pixels, the same size
    os.utime(plate, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the mtime put back
    assert os.stat(plate).st_mtime_ns == stat.st_mtime_ns and frame_fingerprint(plate) != before


def test_a_frame_dubkernels_wrote_is_known_by_what_made_it_not_by_when(tmp_path):
    frame = new_frame(np.full((8, 8, 3), 0.5, np.float32))
    first, second = tmp_path / "a" / "comp.1001.exr", tmp_path / "b" / "comp.1001.exr"
    for path in (first, second):  # one job's frame made twice, by a run and by its rerun
        write_frame(path, frame, provenance={"stage": "mouth_composite", "job": "1f2e", "inputs": "9a8b"})
        time.sleep(0.01)
    assert os.stat(first).st_mtime_ns != os.stat(second).st_mtime_ns
    assert frame_fingerprint(first) == frame_fingerprint(second) == ["1f2e", "9a8b", os.stat(first).st_size]


def test_a_farm_root_in_a_job_is_expanded_from_the_environment_or_named_when_unset(tmp_path, monkeypatch):
    spec = tmp_path / "jobs" / "a.json"
    save_job(Job("analyze", {"plate": "${DUBKERNELS_ROOT_ACTOR}/a.####.exr"}, {"out": "../t.json"}), spec)
    monkeypatch.delenv("DUBKERNELS_ROOT_ACTOR", raising=False)
    with pytest.raises(JobError, match=rf"{spec}: .*needs \$\{{DUBKERNELS_ROOT_ACTOR\}}, which is not set"):
        load_job(spec)
    monkeypatch.setenv("DUBKERNELS_ROOT_ACTOR", "/mnt/elsewhere/plates")
    job = load_job(spec)
    assert job.inputs["plate"] == "/mnt/elsewhere/plates/a.####.exr" and job.outputs["out"] == str(tmp_path / "t.json")
