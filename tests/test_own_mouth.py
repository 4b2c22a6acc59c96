"""The actor's-own-mouth baseline: mouth shapes are pose-free, the nearest mouth is picked, runs of
consecutive actor frames are preferred, and the stage warps the chosen frame onto the target."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from skimage.transform import SimilarityTransform

from dubkernels.face.align import template
from dubkernels.face.landmarks68 import INNER_LIPS, JAW, OUTER_LIPS, STABLE
from dubkernels.face.mouth_match import (CLOSED_GAP, OPEN_GAP, SHAPE_POINTS, VISIBLE_GAP, SelectionCosts,
                                         closed_to, closure_costs, deviations, followed, honour_closure, inner_gap,
                                         mouth_shapes, placed, select_sequence, shape_distances, step_motion)
from dubkernels.face.mouth_overrides import BARRED, OverrideError, check_frames, constrain, parse_overrides
from dubkernels.io.frames import read_frame
from dubkernels.jobs.spec import Job, JobError
from dubkernels.stages.base import run_stage
from dubkernels.stages.own_mouth import OwnMouth, steadied
from dubkernels.tracks import FrameRecord, Track, load_track, save_track
from tests.stage_data import make_shot


def face(opening: float, shift=(300.0, 200.0), scale: float = 1.0, roll: float = 0.0) -> np.ndarray:
    """The frontal mean face with its lower lip and chin dropped by ``opening`` pixels (of a 256 crop)."""
    points = template(256).copy()
    lower = [i for i in OUTER_LIPS + INNER_LIPS if points[i, 1] > points[list(OUTER_LIPS)][:, 1].mean()]
    points[lower, 1] += opening
    points[list(JAW[5:12]), 1] += opening
    c, s = np.cos(roll), np.sin(roll)
    return (points - 128.0) @ np.array([[c, -s], [s, c]]).T * scale + shift


FREE = SelectionCosts(jump=0.0, cut_disagreement=0.0, hold=0.0, closure=0.0)


def nearest(distances: np.ndarray, costs: SelectionCosts = FREE, between: np.ndarray | None = None) -> np.ndarray:
    """The selection with ``costs`` (default: free cuts, so each target's nearest source)."""
    count = distances.shape[1]
    return select_sequence(distances, np.zeros((count, count)) if between is None else between, costs)


def test_mouth_shapes_ignore_position_size_and_roll():
    a = mouth_shapes(np.stack([face(6.0)]))
    b = mouth_shapes(np.stack([face(6.0, shift=(900.0, 50.0), scale=2.5, roll=0.3)]))
    np.testing.assert_allclose(a, b, atol=1e-9)
    assert not np.allclose(a, mouth_shapes(np.stack([face(9.0)])))
    assert np.isnan(mouth_shapes(np.full((1, 68, 2), np.nan))).all()


def test_the_nearest_mouth_is_picked_and_runs_are_preferred():
    openings = np.array([0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0])
    actor = mouth_shapes(np.stack([face(o, scale=1.3) for o in openings]))
    wanted = np.array([11.6, 0.3, 6.2, 3.9])
    targets = mouth_shapes(np.stack([face(o, shift=(50.0, 60.0)) for o in wanted]))
    distances = shape_distances(targets, actor)
    picks = nearest(distances)
    assert picks.tolist() == [6, 0, 3, 2]  # each the nearest opening

    # A slow opening: frame by frame the nearest source alternates; a jump cost keeps a run of frames.
    ramp = mouth_shapes(np.stack([face(o) for o in (2.9, 4.1, 4.9, 6.1, 7.1)]))
    d = shape_distances(ramp, actor)
    free, steady = nearest(d), nearest(d, SelectionCosts(jump=1.0, cut_disagreement=0.0, hold=1.0))
    cuts = lambda p: int(np.sum(np.diff(p) != 1))  # noqa: E731
    assert cuts(steady) < cuts(free) and cuts(steady) == 0


def test_a_target_without_a_face_gets_no_source_and_pose_counts():
    actor = mouth_shapes(np.stack([face(0.0), face(5.0)]))
    targets = mouth_shapes(np.stack([face(5.0), np.full((68, 2), np.nan)]))
    assert nearest(shape_distances(targets, actor), SelectionCosts(jump=0.01)).tolist() == [1, -1]
    same = np.stack([face(5.0), face(5.0)])
    turned = shape_distances(mouth_shapes(same[:1]), mouth_shapes(same), np.zeros((1, 2)),
                             np.array([[0.0, 0.0], [0.5, 0.0]]), pose_weight=1.0)
    assert turned[0, 0] == pytest.approx(0.0) and turned[0, 1] == pytest.approx(0.5)


def test_follow_moves_the_chosen_mouth_toward_the_target_movement():
    # Actor mouths open 0 (closed), 4, 8; the dubber's 3 (closed), 5, 10. Wanting 10 (7 past the dubber's
    # closed mouth), the actor's nearest movement is 8 (8 past its own); following moves it toward 0 + 7.
    actor = mouth_shapes(np.stack([face(o) for o in (0.0, 4.0, 8.0)]))
    target = mouth_shapes(np.stack([face(o, scale=0.7) for o in (3.0, 5.0, 10.0)]))
    actor_dev, target_dev = deviations(actor), deviations(target)
    pick = int(nearest(shape_distances(target_dev, actor_dev))[2])
    assert pick == 2
    np.testing.assert_allclose(followed(actor[2], actor_dev[2], target_dev[2], 0.0), actor[2])
    for follow, opening in ((1.0, 7.0), (0.5, 7.5)):
        expected = mouth_shapes(face(opening)[None])[0]
        np.testing.assert_allclose(followed(actor[2], actor_dev[2], target_dev[2], follow), expected, atol=1e-9)


def test_movement_is_measured_from_the_closed_mouth_not_the_typical_one():
    # An actor who talks with the mouth half open (median opening 6) and a dubber who rests closed: the
    # dubber's closed mouth must get the actor's closed mouth, not its typical half-open one.
    actor = mouth_shapes(np.stack([face(o) for o in (0.0, 6.0, 6.0, 6.0, 7.0, 8.0, 0.5, 6.0, 5.0, 6.0)]))
    target = mouth_shapes(np.stack([face(o, scale=0.8) for o in (0.0, 0.0, 0.0, 1.0, 4.0, 0.0, 0.0, 0.0)]))
    picks = nearest(shape_distances(deviations(target), deviations(actor)))
    assert picks[0] in (0, 6) and picks[4] == 8  # closed to closed; opening 4 to 5 (4.5 past closed)


def test_the_selection_finds_the_known_optimum_of_a_cost_table():
    rng = np.random.default_rng(3)
    cost, between = rng.uniform(0.0, 1.0, (5, 4)), rng.uniform(0.0, 1.0, (4, 4))
    costs = SelectionCosts(jump=0.3, cut_disagreement=0.5, hold=0.1)

    def path_cost(path: tuple[int, ...]) -> float:
        total = sum(cost[t, s] for t, s in enumerate(path))
        for p, s in zip(path, path[1:]):
            if s == p + 1:
                continue
            total += costs.hold if s == p else costs.jump + costs.cut_disagreement * between[min(p + 1, 3), s]
        return total

    best = min(itertools.product(range(4), repeat=5), key=path_cost)
    found = tuple(int(s) for s in select_sequence(cost, between, costs))
    assert path_cost(found) == pytest.approx(path_cost(best)) and found == best


def test_a_mouth_rests_where_the_target_rests():
    targets = np.zeros((4, len(SHAPE_POINTS), 2))  # a still target
    sources = np.zeros((4, len(SHAPE_POINTS), 2))
    sources[:, :, 1] = np.arange(4)[:, None] * 0.05  # the actor's run moves 0.05 IOD a frame
    motion = step_motion(targets, sources)
    assert motion.hold.tolist() == [0.0] * 4 and motion.run[1, 1:] == pytest.approx([0.05] * 3)
    costs = SelectionCosts(jump=1.0, cut_disagreement=0.0, hold=0.01, closure=0.0, motion=1.0)
    cost, between = np.zeros((4, 4)), np.zeros((4, 4))
    held = select_sequence(cost, between, costs, motion)
    assert len(set(held.tolist())) == 1  # the same frame held: no movement where the target has none
    assert select_sequence(cost, between, costs).tolist() == [0, 1, 2, 3]  # without the motion term: the run


def test_the_warp_landmarks_lose_the_detector_noise_not_the_motion():
    rng = np.random.default_rng(0)
    truth = [face(opening=2.0 * np.sin(i / 3.0)) for i in range(30)]  # a mouth opening and closing
    noisy = [t + rng.normal(0.0, 0.5, t.shape) for t in truth]
    frames = list(range(1001, 1021)) + list(range(1030, 1040))  # two runs: nothing is smoothed across the gap
    records = [FrameRecord(f, "detected", lm, None, 1.0, None) for f, lm in zip(frames, noisy)]
    steady = steadied(Track("a.####.exr", 600, 400, records, {}, []), 7)
    error = lambda marks: np.mean([np.abs(marks[i] - truth[i]).mean() for i in range(30)])  # noqa: E731
    assert error([steady[f] for f in frames]) < 0.7 * error(noisy)
    np.testing.assert_array_equal(steadied(Track("a.####.exr", 600, 400, records, {}, []), 1)[1030], noisy[20])


def test_runs_are_kept_and_cuts_land_where_the_mouths_agree():
    # Sources 0-5; targets want 0, 1, 2 then 4, 5 (nearly as good: 3, 4). Cutting 2 -> 4 skips source 3, whose
    # mouth is far from 4's: the cut costs more than following on to 3, 4.
    cost = np.full((5, 6), 1.0)
    for t, (s, runner_up) in enumerate(((0, 0), (1, 1), (2, 2), (4, 3), (5, 4))):
        cost[t, runner_up] = 0.05
        cost[t, s] = 0.0
    far = np.ones((6, 6)) - np.eye(6)
    costs = SelectionCosts(jump=0.05, cut_disagreement=1.0, hold=1.0)
    assert select_sequence(cost, far, costs).tolist() == [0, 1, 2, 3, 4]
    agree = far.copy()
    agree[3, 4] = agree[4, 3] = 0.0  # source 3's mouth looks like 4's: cutting there shows nothing
    assert select_sequence(cost, agree, costs).tolist() == [0, 1, 2, 4, 5]


def test_closure_costs_charge_lips_that_disagree_with_the_target():
    table = closure_costs(np.array([0.0, 0.1, 0.035]), np.array([0.0, 0.1, 0.03]), CLOSED_GAP, OPEN_GAP)
    band = OPEN_GAP - CLOSED_GAP
    assert table[0].tolist() == [0.0, pytest.approx(0.1 - CLOSED_GAP + band),  # closed target: the open source pays
                                 pytest.approx(0.03 - CLOSED_GAP + band)]  # and one not read closed pays the band
    assert table[1].tolist() == [pytest.approx(OPEN_GAP), 0.0, pytest.approx(OPEN_GAP - 0.03)]  # the closed pays
    assert table[2].tolist() == pytest.approx([0.035 - CLOSED_GAP, OPEN_GAP - 0.035, 0.005])  # on its way: apart
    assert closure_costs(np.array([0.03]), np.array([0.03]), CLOSED_GAP, OPEN_GAP)[0, 0] == 0.0  # across the band


def test_a_closed_target_gets_closed_lips_and_an_open_one_parted_lips():
    open_mouth = mouth_shapes(face(12.0)[None])[0]
    closed = honour_closure(open_mouth, target_gap=0.0, rest_gap=0.005)
    assert inner_gap(closed[None])[0] == pytest.approx(0.005)
    index = {p: i for i, p in enumerate(SHAPE_POINTS)}
    upper = [index[p] for p in (50, 51, 52, 61, 62, 63)]
    np.testing.assert_allclose(closed[upper], open_mouth[upper])  # the upper lip stays; the lower one rises
    shut = closed_to(open_mouth, 0.0)
    assert inner_gap(honour_closure(shut, target_gap=0.09, rest_gap=0.0)[None])[0] == pytest.approx(0.09)
    slightly_open = honour_closure(shut, target_gap=OPEN_GAP + 0.005, rest_gap=0.0)
    assert inner_gap(slightly_open[None])[0] == pytest.approx(VISIBLE_GAP)  # a parting wide enough to read as open
    gaps = [float(inner_gap(honour_closure(shut, g, 0.0)[None])[0]) for g in np.linspace(0.0, 0.09, 91)]
    assert np.all(np.diff(gaps) >= -1e-9) and np.max(np.diff(gaps)) < 0.005  # no flick at a threshold (a jump: 0.05)
    np.testing.assert_allclose(honour_closure(open_mouth, 0.2, 0.0), open_mouth)  # open already: left as is
    np.testing.assert_allclose(closed_to(open_mouth, float(inner_gap(open_mouth[None])[0])), open_mouth)


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    return make_shot(tmp_path_factory.mktemp("own"))


def _run(shot, tmp_path, target_track, **params):
    job = Job("own_mouth", {"actor": shot.actor, "actor_track": shot.actor_track, "target_track": target_track},
              {"out": str(tmp_path / "own.####.exr"), "landmarks": str(tmp_path / "own.landmarks.json")},
              params=params)
    return run_stage(OwnMouth(job), workers=1)


def test_with_the_actor_as_target_every_frame_is_its_own_mouth(shot, tmp_path):
    summary = _run(shot, tmp_path, shot.actor_track, steady=0, target_cutoff=0.0)  # both sides as tracked
    assert summary.done == shot.frames
    assert any(f"{len(shot.frames)} actor frames used, 0 cuts" in n for n in summary.notes)
    track = load_track(shot.actor_track)
    for f in shot.frames:
        layer = read_frame(tmp_path / f"own.{f}.exr")
        plate = read_frame(shot.actor.replace("####", str(f)))
        w = layer.data_window
        alpha = layer.pixels[..., 3].astype(np.float32)
        solid = alpha > 0.999
        rgb = layer.pixels[..., :3].astype(np.float32)[solid]
        original = plate.display_rgb()[w.y : w.y_end, w.x : w.x_end][solid]
        assert solid.sum() > 1000 and np.abs(rgb - original).mean() < 0.01  # the identity warp: the plate itself
        lm = track.record(f).landmarks
        assert w.x <= lm[:, 0].min() and lm[:, 0].max() <= w.x_end  # the face layer covers the face


def test_a_repaired_actor_frame_and_those_beside_it_are_never_sources(shot, tmp_path):
    """A frame whose mouth the analysis repaired (dlib had lost it) shows a mouth its landmarks do not describe, and
    the frames beside it are where the detector loses and regains the lips."""
    actor = load_track(shot.actor_track)
    repaired = shot.frames[len(shot.frames) // 2]
    actor.record(repaired).flag = "repaired"
    save_track(actor, tmp_path / "actor.track.json")
    own = OwnMouth(Job("own_mouth", {"actor": shot.actor, "actor_track": str(tmp_path / "actor.track.json"),
                                     "target_track": shot.actor_track},
                       {"out": str(tmp_path / "own.####.exr")}, params={"steady": 0, "target_cutoff": 0.0}))
    notes = own.prepare()
    beside = {repaired - 1, repaired + 1}  # where the detector regains the lips: suspect too
    assert not ({repaired} | beside) & set(own.source.values())
    assert all(own.source[f] == f for f in shot.frames if f not in beside | {repaired})  # the others: their own
    assert any(str(repaired) in n and "nor the frames beside them are used as sources" in n for n in notes)


def test_each_frame_gets_the_actor_mouth_that_moves_like_the_target(shot, tmp_path):
    actor = load_track(shot.actor_track)
    frames = shot.frames
    # Target: the actor's mouth movements played backwards, each placed on the frame's own face.
    records = []
    for f, wanted_frame in zip(frames, frames[::-1]):
        rec = actor.record(f)
        lm = rec.landmarks.copy()
        wanted = actor.record(wanted_frame).landmarks
        fit = SimilarityTransform.from_estimate(wanted[list(STABLE)], lm[list(STABLE)])
        lm[48:68] = fit(wanted[48:68])
        lm[4:13] = fit(wanted[4:13])
        records.append(FrameRecord(f, "detected", lm, rec.box, 1.0, rec.pose))
    save_track(Track(actor.source, actor.width, actor.height, records, {}, []), tmp_path / "target.track.json")
    summary = _run(shot, tmp_path, str(tmp_path / "target.track.json"), jump_cost=0.0, cut_disagreement=0.0,
                   hold_cost=0.0, closure_weight=0.0, closures=False, pose_weight=0.0, follow=0.0, steady=0,
                   target_cutoff=0.0)
    assert summary.done == frames
    drawn = json.loads((tmp_path / "own.landmarks.json").read_text())
    for f, wanted_frame in zip(frames, frames[::-1]):
        lm = np.array(drawn["frames"][str(f)]["landmarks"])
        expected = placed(mouth_shapes(actor.record(wanted_frame).landmarks[None])[0], actor.record(f).landmarks)
        np.testing.assert_allclose(lm[list(SHAPE_POINTS)], expected, atol=2e-3)  # that frame's mouth, here


def test_overrides_are_read_and_bad_ones_named():
    close, run, forbid, wider = parse_overrides("1040-1042: close; 1060: source 1203 ;1001-1003: forbid 1180-1181;"
                                                " 1100: opening 1.3")
    assert (close.frames, close.action) == ((1040, 1041, 1042), "close") and run.value == 1203
    assert forbid.value == (1180, 1181) and wider.value == 1.3 and parse_overrides("  ") == []
    for text, fix in (("1040 close", "write FRAMES: ACTION"), ("1040: shut", "write FRAMES: ACTION"),
                      ("10x: close", "not a frame list"), ("1040: source", "takes one value"),
                      ("1040: opening 9", "a scale from 0 to 3"), ("1040: source x", "one actor frame number"),
                      ("1040: close 2", "takes nothing after it")):
        with pytest.raises(OverrideError, match=fix):
            parse_overrides(text)


def test_forced_and_forbidden_sources_are_hard_in_the_selection():
    shot, sources = [10, 11, 12], [100, 101, 102, 103]
    overrides = parse_overrides("11-12: source 102; 10: forbid 100-101")
    cost = constrain(np.zeros((3, 4)), shot, sources, overrides)
    assert (cost[0, :2] == BARRED).all() and (cost[0, 2:] == 0.0).all()
    assert (cost[1] < BARRED).tolist() == [False, False, True, False] and cost[2, 3] == 0.0
    assert select_sequence(cost, np.zeros((4, 4)))[1:].tolist() == [2, 3]
    with pytest.raises(OverrideError, match="not in the shot"):
        check_frames(parse_overrides("9-10: close"), shot, sources)
    with pytest.raises(OverrideError, match="frames 104 have no tracked face"):
        check_frames(parse_overrides("11-12: source 103"), shot, sources)


def test_an_override_redraws_only_the_frames_it_changes(shot, tmp_path):
    assert _run(shot, tmp_path, shot.actor_track).done == shot.frames
    before = json.loads((tmp_path / "own.landmarks.json").read_text())["frames"]
    summary = _run(shot, tmp_path, shot.actor_track, overrides="1004: opening 2.5")
    assert summary.done == [1004] and summary.skipped == [f for f in shot.frames if f != 1004]
    after = json.loads((tmp_path / "own.landmarks.json").read_text())["frames"]
    gap = {name: float(inner_gap(mouth_shapes(np.array(marks["1004"]["landmarks"])[None]))[0])
           for name, marks in (("before", before), ("after", after))}
    assert gap["after"] == pytest.approx(2.5 * gap["before"], rel=0.05)
    job = Job("own_mouth", {"actor": shot.actor, "actor_track": shot.actor_track, "target_track": shot.actor_track},
              {"out": str(tmp_path / "own.####.exr")}, params={"overrides": "1002-1003: source 1005; 1006: close"})
    stage = OwnMouth(job)
    notes = stage.prepare()
    assert (stage.source[1002], stage.source[1003]) == (1005, 1006) and any("2 override(s)" in n for n in notes)
    closed = float(inner_gap(mouth_shapes(stage.dest[1006][None]))[0])
    assert closed < CLOSED_GAP  # lips that meet: the artist's closure, whatever the target shows
    with pytest.raises(JobError, match="own_mouth: override '1004: shut'"):
        OwnMouth(Job("own_mouth", job.inputs, job.outputs, params={"overrides": "1004: shut"})).prepare()


def test_with_the_chin_the_layer_carries_the_plate_below_the_jaw(shot, tmp_path):
    plain, chin = tmp_path / "plain", tmp_path / "chin"
    _run(shot, plain, shot.actor_track, chin=False)
    _run(shot, chin, shot.actor_track)  # the default: the layer carries its jaw band
    f = shot.frames[0]
    without, with_band = read_frame(plain / f"own.{f}.exr"), read_frame(chin / f"own.{f}.exr")
    assert with_band.data_window.y_end > without.data_window.y_end  # the band reaches below the jaw
    plate = read_frame(shot.actor.replace("####", str(f))).display_rgb()
    w = with_band.data_window
    jaw = load_track(shot.actor_track).record(f).landmarks[8]
    row, col = int(jaw[1]) + 6 - w.y, int(jaw[0]) - w.x  # just below the chin: the plate itself (its own jaw)
    pixel = with_band.pixels[row, col].astype(np.float32)
    assert pixel[3] == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(pixel[:3], plate[w.y + row, w.x + col], atol=0.02)


def test_a_sharp_source_is_blurred_into_a_frame_the_camera_blurred(shot, tmp_path):
    """The sample actor's frame 1004 blurred (a fast head turn): the mouth drawn there from sharp frame 1002 comes
    out nearer that blurred plate with match_blur than without, and a frame drawn from itself is untouched."""
    import shutil

    import cv2

    from dubkernels.analysis import analyze_sequence
    from dubkernels.io.frames import write_frame
    from dubkernels.io.sequences import resolve_sequence
    from dubkernels.render.softness import skin_box

    plates = tmp_path / "plates"
    plates.mkdir()
    for f in shot.frames:
        shutil.copy(shot.actor.replace("####", str(f)), plates / f"actor.{f}.exr")
    frame = read_frame(plates / "actor.1004.exr")
    frame.pixels[..., :3] = cv2.GaussianBlur(frame.pixels[..., :3].astype(np.float32), (0, 0), 2.5)
    write_frame(plates / "actor.1004.exr", frame)
    actor = str(plates / "actor.####.exr")
    save_track(analyze_sequence(resolve_sequence(actor)), tmp_path / "actor.track.json")
    track = str(tmp_path / "actor.track.json")
    layers = {}
    for match_blur in (True, False):
        out = tmp_path / f"blur_{match_blur}"
        job = Job("own_mouth", {"actor": actor, "actor_track": track, "target_track": track},
                  {"out": str(out / "own.####.exr")},
                  params={"overrides": "1004: source 1002", "match_blur": match_blur, "chin": False,
                          "blend_frames": 0, "steady": 0, "target_cutoff": 0.0})
        run_stage(OwnMouth(job), workers=1)
        layers[match_blur] = {f: read_frame(out / f"own.{f}.exr") for f in (1001, 1004)}
    np.testing.assert_array_equal(layers[True][1001].pixels, layers[False][1001].pixels)  # its own frame

    (x0, y0, x1, y1), keep = skin_box(load_track(track).record(1004).landmarks, (512, 512))
    plate = frame.display_rgb()[y0:y1, x0:x1]

    def error(layer) -> float:
        w = layer.data_window
        pixels = layer.pixels[y0 - w.y : y1 - w.y, x0 - w.x : x1 - w.x].astype(np.float32)
        solid = keep & (pixels[..., 3] > 0.99)
        assert solid.sum() > 1000  # the layer covers the skin around the lips
        return float(np.abs(pixels[..., :3] - plate)[solid].mean())

    assert error(layers[True][1004]) < 0.8 * error(layers[False][1004])


def test_a_face_whose_landmarks_sit_off_is_drawn_where_the_plate_shows_it(shot, tmp_path):
    """Frame 1004's landmarks put 5 px right and 3 px up of the face (a detector's miss on a blurred turn): the mouth
    drawn there from frame 1002 is moved back onto the plate's face with ``register``, not without."""
    from dubkernels.render.register import nose_box

    actor = load_track(shot.actor_track)
    true = actor.record(1004).landmarks.copy()
    actor.record(1004).landmarks = true + (5.0, -3.0)
    save_track(actor, tmp_path / "actor.track.json")
    track = str(tmp_path / "actor.track.json")
    layers = {}
    for register in (True, False):
        out = tmp_path / f"register_{register}"
        job = Job("own_mouth", {"actor": shot.actor, "actor_track": track, "target_track": track},
                  {"out": str(out / "own.####.exr")},
                  params={"overrides": "1004: source 1002", "register": register, "chin": False, "blend_frames": 0,
                          "steady": 0, "target_cutoff": 0.0, "match_blur": False})
        run_stage(OwnMouth(job), workers=1)
        layers[register] = read_frame(out / "own.1004.exr")
    moved, drawn = layers[True].data_window, layers[False].data_window
    assert (moved.x - drawn.x, moved.y - drawn.y) in {(dx, dy) for dx in (-6, -5, -4) for dy in (2, 3, 4)}
    plate = read_frame(shot.actor.replace("####", "1004")).display_rgb()
    x0, y0, x1, y1 = nose_box(true, (512, 512))

    def error(layer) -> float:
        w = layer.data_window
        return float(np.abs(layer.pixels[y0 - w.y : y1 - w.y, x0 - w.x : x1 - w.x, :3] - plate[y0:y1, x0:x1]).mean())

    assert error(layers[True]) < 0.5 * error(layers[False])
