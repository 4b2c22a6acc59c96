"""Job spec files: round trip, identity, and clear errors."""
from __future__ import annotations

import json

import pytest

from dubkernels.stages.job import Job, JobError, load_job, save_job
from dubkernels.stages.registry import make_stage


def test_round_trip_and_identity(tmp_path):
    job = Job("stabilize", {"face": "f.####.exr", "face_track": "f.json"}, {"out": "o.####.exr"}, "1-5", {"beta": 0.2})
    save_job(job, tmp_path / "j.json")
    back = load_job(tmp_path / "j.json")
    assert back == job
    chunk = Job(job.stage, job.inputs, job.outputs, "6-9", job.params)
    assert chunk.identity() == job.identity()  # chunks of one job share it
    assert Job(job.stage, job.inputs, job.outputs, "1-5", {"beta": 0.3}).identity() != job.identity()


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
    with pytest.raises(JobError, match="unknown stage 'face_sr'"):
        make_stage(Job("face_sr", {}, {}))
