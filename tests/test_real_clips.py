"""End to end on the real talking-face clips of ../shared/data (skipped when absent)."""
from __future__ import annotations

import numpy as np
import pytest

from dubkernels.analysis import analyze_sequence
from dubkernels.face.landmarks68 import MOUTH, interocular
from dubkernels.io.video import ingest_video
from dubkernels.io.frames import read_frame
from dubkernels.io.sequences import resolve_sequence
from dubkernels.stages.base import run_stage
from dubkernels.jobs.spec import Job
from dubkernels.stages.mouth_composite import MouthComposite
from dubkernels.stages.pose_align import PoseAlign
from dubkernels.tracks import save_track
from tests.conftest import shared_file


@pytest.mark.parametrize("clip, size", [("ls_demo2.mp4", (1080, 1920)), ("lp_d18.mp4", (480, 480))])
def test_ingest_and_analyze_a_real_clip(tmp_path, clip, size):
    result = ingest_video(shared_file(f"clips/{clip}"), tmp_path / "plate.####.exr", frames=list(range(1001, 1009)))
    track = analyze_sequence(result.sequence)
    assert (track.width, track.height) == size
    assert track.counts()["detected"] == 8
    lm = track.landmarks_array()
    iod = np.array([interocular(f) for f in lm])
    assert np.all(iod > 0.05 * size[0])  # a real face, not a speck
    mouth = lm[:, list(MOUTH)]
    # lips sit below the nose tip and between the mouth corners' jaw line, every frame
    assert np.all(mouth[:, :, 1].mean(axis=1) > lm[:, 33, 1])
    assert np.all(mouth[:, :, 1].mean(axis=1) < lm[:, 8, 1])
    # the track is steady: the nose bridge moves less than a tenth of the IOD per frame
    assert np.all(np.linalg.norm(np.diff(lm[:, 27], axis=0), axis=1) < 0.1 * iod[1:])


def test_pair_a_pose_align_and_mouth_composite(tmp_path):
    frames = list(range(1001, 1007))
    tracks = {}
    plates = {}
    # the dubber is 30 fps against the actor's 25: six actor frames show dubber frames 1001-1007, matched by time
    for name, clip, take in (("actor", "ls_demo2.mp4", frames), ("dubber", "lp_d18.mp4", list(range(1001, 1008)))):
        plates[name] = ingest_video(shared_file(f"clips/{clip}"), tmp_path / name / "p.####.exr", frames=take).sequence
        tracks[name] = str(tmp_path / f"{name}.json")
        save_track(analyze_sequence(plates[name]), tracks[name])
    render = str(tmp_path / "pa" / "pa.####.exr")
    summary = run_stage(PoseAlign(Job("pose_align", {"actor": plates["actor"].pattern, "actor_track": tracks["actor"],
                                                     "dubber": plates["dubber"].pattern, "dubber_track": tracks["dubber"]},
                                      {"out": render})), workers=1)
    assert summary.done == frames and any("matched by time" in note for note in summary.notes)
    render_track = analyze_sequence(resolve_sequence(render))
    actor_lm = analyze_sequence(plates["actor"]).landmarks_array()
    stable = np.linalg.norm(render_track.landmarks_array()[:, 17:48] - actor_lm[:, 17:48], axis=2).mean()
    assert stable < 0.12 * np.median([interocular(f) for f in actor_lm])  # the dubber's face sits on the actor's
    save_track(render_track, tmp_path / "pa.json")
    run_stage(MouthComposite(Job("mouth_composite", {"actor": plates["actor"].pattern, "actor_track": tracks["actor"],
                                                     "face": render, "face_track": str(tmp_path / "pa.json")},
                                 {"out": str(tmp_path / "c" / "c.####.exr"), "mask": str(tmp_path / "m" / "m.####.exr")})),
              workers=1)
    for f in frames[::3]:
        a0, out = read_frame(plates["actor"].path(f)), read_frame(tmp_path / "c" / f"c.{f}.exr")
        mask = read_frame(tmp_path / "m" / f"m.{f}.exr")
        m = np.zeros(a0.pixels.shape[:2], np.float32)
        w = mask.data_window
        m[w.y : w.y_end, w.x : w.x_end] = mask.pixels[..., 0]
        same = (a0.pixels.view(np.uint16) == out.pixels.view(np.uint16)).all(axis=-1)
        assert same[m == 0].all() and not same[m > 0.5].all()
        ys, xs = np.nonzero(m > 0.5)
        mouth = actor_lm[frames.index(f)][list(MOUTH)].mean(axis=0)
        assert abs(xs.mean() - mouth[0]) < 30 and abs(ys.mean() - mouth[1]) < 30  # only the mouth region changed
