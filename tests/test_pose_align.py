"""PoseAlign on the sample shot, and the stage runner (chunks, resume, workers, job specs)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dubkernels.analysis import FaceAnalyzer, AnalysisSettings
from dubkernels.cli.main import main
from dubkernels.colour import ColourSpaces
from dubkernels.errors import DubKernelsError
from dubkernels.face.landmarks68 import STABLE, interocular
from dubkernels.io.frames import new_frame, read_frame, write_frame
from dubkernels.stages.base import run_stage
from dubkernels.jobs.spec import Job, JobError, load_job
from dubkernels.stages.pose_align import PoseAlign
from dubkernels.tracks import load_track
from tests.stage_data import make_shot


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    return make_shot(tmp_path_factory.mktemp("shot"))


def _job(shot, out, dubber=None, dubber_track=None, **kw) -> Job:
    inputs = {"actor": shot.actor, "actor_track": shot.actor_track,
              "dubber": dubber or shot.dubber, "dubber_track": dubber_track or shot.dubber_track}
    return Job("pose_align", inputs, {"out": str(out / "pa.####.exr")}, **kw)


def _over_black(frame, width, height) -> np.ndarray:
    """The RGBA face layer placed into a black plate: (h, w, 4) float32."""
    out = np.zeros((height, width, 4), np.float32)
    w = frame.data_window
    out[w.y : w.y_end, w.x : w.x_end] = frame.pixels.astype(np.float32)
    return out


def test_actor_onto_itself_reproduces_the_face(shot, tmp_path):
    job = _job(shot, tmp_path, dubber=shot.actor, dubber_track=shot.actor_track, params={"smooth": 1})
    summary = run_stage(PoseAlign(job), workers=1)
    assert len(summary.done) == len(shot.frames)
    colour = ColourSpaces()
    for f in shot.frames[:3]:
        actor = read_frame(shot.actor.replace("####", str(f))).display_rgb()
        render = _over_black(read_frame(tmp_path / f"pa.{f}.exr"), actor.shape[1], actor.shape[0])
        inner = render[..., 3] > 0.999
        assert inner.sum() > 5000  # the whole face is covered
        a = colour.to_network(actor)[inner]
        b = colour.to_network(render[..., :3])[inner]
        psnr = 10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2))
        assert psnr > 30.0, psnr


def test_dubber_render_lands_on_the_actor_pose(shot, tmp_path):
    run_stage(PoseAlign(_job(shot, tmp_path)), workers=1)
    actor_track = load_track(shot.actor_track)
    analyzer = FaceAnalyzer(AnalysisSettings(), ColourSpaces())
    for f in shot.frames[::2]:
        layer = read_frame(tmp_path / f"pa.{f}.exr")
        assert layer.channel_names == ("R", "G", "B", "A")
        assert layer.data_window.width < layer.display_window.width  # the data window is the face region
        render = _over_black(layer, layer.display_window.width, layer.display_window.height)
        analyzer.previous = None
        found = analyzer.analyze(render[..., :3], f)
        assert found.landmarks is not None
        truth = actor_track.record(f).landmarks
        err = np.linalg.norm(found.landmarks[list(STABLE)] - truth[list(STABLE)], axis=1).mean()
        assert err < 0.12 * interocular(truth), err  # a few pixels at this face size


def test_chunks_resume_and_workers_give_identical_frames(shot, tmp_path):
    whole = run_stage(PoseAlign(_job(shot, tmp_path / "whole")), workers=2)
    assert whole.done == shot.frames
    for chunk in ("1001-1003", "1004-1006"):
        run_stage(PoseAlign(_job(shot, tmp_path / "chunks", frames=chunk)), workers=1)
    for f in shot.frames:
        a = read_frame(tmp_path / "whole" / f"pa.{f}.exr")
        b = read_frame(tmp_path / "chunks" / f"pa.{f}.exr")
        assert a.data_window == b.data_window
        assert np.array_equal(a.pixels.view(np.uint16), b.pixels.view(np.uint16))
    again = run_stage(PoseAlign(_job(shot, tmp_path / "whole")), workers=1)
    assert again.skipped == shot.frames and again.done == []
    forced = run_stage(PoseAlign(_job(shot, tmp_path / "whole", frames="1002")), force=True, workers=1)
    assert forced.done == [1002]
    changed = run_stage(PoseAlign(_job(shot, tmp_path / "whole", params={"smooth": 3})), workers=1)
    assert changed.done == shot.frames  # other settings: nothing is reused
    report = json.loads(changed.path.read_text())
    assert report["frames_done"] == 6 and report["frames_skipped"] == 0 and report["warnings"]


def test_bad_inputs_are_clear(shot, tmp_path):
    with pytest.raises(JobError, match="frames 2001-2002 are outside the shot"):
        run_stage(PoseAlign(_job(shot, tmp_path, frames="2001-2002")), workers=1)
    with pytest.raises(DubKernelsError, match="no actor frame .* maps onto a dubber frame"):
        run_stage(PoseAlign(_job(shot, tmp_path, params={"dubber_offset": 100})), workers=1)
    with pytest.raises(JobError, match="smooth=4 must be an odd number"):
        PoseAlign(_job(shot, tmp_path, params={"smooth": 4}))
    with pytest.raises(JobError, match="unknown parameters \\['blur'\\]"):
        PoseAlign(_job(shot, tmp_path, params={"blur": 1}))
    small = tmp_path / "small.####.exr"
    for f in shot.frames:
        write_frame(str(small).replace("####", str(f)), new_frame(np.zeros((100, 100, 3), np.float32)))
    with pytest.raises(DubKernelsError, match="is 100x100 but its track was made at 512x512"):
        run_stage(PoseAlign(_job(shot, tmp_path, dubber=str(small))), workers=1)
    bad = Job("pose_align", {"actor": shot.actor}, {"out": str(tmp_path / "x.####.exr")})
    with pytest.raises(JobError, match="it needs"):
        PoseAlign(bad)
    over = _job(shot, tmp_path)
    over.outputs["out"] = shot.actor
    with pytest.raises(JobError, match="would write over its own input"):
        PoseAlign(over)


def test_cli_writes_and_runs_a_job_spec(shot, tmp_path, capsys):
    spec = tmp_path / "pa.json"
    args = ["pose-align", "--actor", shot.actor, "--actor-track", shot.actor_track, "--dubber", shot.dubber,
            "--dubber-track", shot.dubber_track, "--out", str(tmp_path / "out" / "pa.####.exr"),
            "--smooth", "3", "--no-colour-transfer", "--frames", "1001-1002"]
    assert main(args + ["--write-job", str(spec)]) == 0
    job = load_job(spec)
    assert job.params == {"smooth": 3, "colour_transfer": False} and job.frames == "1001-1002"
    assert main(["run", str(spec), "--workers", "1"]) == 0
    assert "2 frames written" in capsys.readouterr().out
    assert (tmp_path / "out" / "pa.1002.exr").is_file() and not (tmp_path / "out" / "pa.1003.exr").exists()
    assert main(["run", str(spec), "--frames", "1001-1003", "--workers", "1"]) == 0
    assert "1 frames written, 2 skipped" in capsys.readouterr().out


def test_render_carries_the_actor_metadata(shot, tmp_path):
    run_stage(PoseAlign(_job(shot, tmp_path, frames="1001")), workers=1)
    layer = read_frame(tmp_path / "pa.1001.exr")
    actor = read_frame(shot.actor.replace("####", "1001"))
    assert tuple(layer.spec.getattribute("FramesPerSecond")) == tuple(actor.spec.getattribute("FramesPerSecond"))
    assert json.loads(layer.spec.get_string_attribute("dubkernels:provenance"))["stage"] == "pose_align"


def _retimed_dubber(shot, folder, fps: int) -> str:
    """The sample dubber with FramesPerSecond set to ``fps`` (pixels unchanged)."""
    import OpenImageIO as oiio

    pattern = str(folder / "d30" / "d.####.exr")
    for f in shot.frames:
        frame = read_frame(shot.dubber.replace("####", str(f)))
        frame.spec.attribute("FramesPerSecond", oiio.TypeRational, (fps, 1))
        write_frame(pattern.replace("####", str(f)), frame)
    return pattern


def test_takes_at_different_frame_rates_are_matched_by_time_or_refused(shot, tmp_path):
    dubber = _retimed_dubber(shot, tmp_path, 30)  # the actor plate is 25 fps
    stage = PoseAlign(_job(shot, tmp_path, dubber=dubber))
    # 1.2 dubber frames per actor frame: actor frames 1001..1005 show dubber frames 1001, 1002, 1003, 1005, 1006
    assert stage.frames() == shot.frames[:5]
    assert [stage._dubber_frame(f) for f in stage.frames()] == [1001, 1002, 1003, 1005, 1006]
    frozen = PoseAlign(_job(shot, tmp_path, dubber=dubber, params={"retime": False}))
    with pytest.raises(JobError, match="actor plate is 25 fps and the dubber 30 fps; frame-for-frame matching would "
                                       "drift"):
        frozen.frames()
