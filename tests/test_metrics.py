"""Shot metrics against values computed by hand on small arrays."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from dubkernels.face.landmarks68 import mean_face_3d
from dubkernels.io.frames import Frame, Part, Window, new_frame
from dubkernels.metrics import image as im
from dubkernels.metrics import lipsync


def _face(scale: float = 100.0, shift=(300.0, 200.0)) -> np.ndarray:
    """A 68-point face: the mean face's front view, scaled and moved."""
    front = mean_face_3d()[:, :2]
    front = (front - front.mean(axis=0)) / np.ptp(front[:, 0])
    return front * scale + np.asarray(shift)


def _open(face: np.ndarray, gap: float) -> np.ndarray:
    """The face with its lower inner lip (65-67) moved down so the inner-lip gap grows by ``gap`` pixels."""
    out = face.copy()
    out[[65, 66, 67], 1] += gap
    return out


def test_mouth_opening_is_the_inner_lip_gap_over_the_iod():
    face = _face()
    iod = lipsync.interoculars(face[None])[0]
    base = lipsync.mouth_opening(face[None])[0]
    assert lipsync.mouth_opening(_open(face, 10.0)[None])[0] == pytest.approx(base + 10.0 / iod, rel=0.05)
    assert np.isnan(lipsync.mouth_opening(np.full((1, 68, 2), np.nan))[0])
    with pytest.raises(ValueError, match="68, 2"):
        lipsync.mouth_opening(np.zeros((3, 5, 2)))


def test_mouth_opening_is_measured_across_the_lips_and_lost_lips_are_not_read_as_open():
    face = _face()
    iod = lipsync.interoculars(face[None])[0]
    base = lipsync.mouth_opening(face[None])[0]
    sideways = face.copy()
    sideways[[65, 66, 67], 0] += 8.0  # the lower lip slides sideways: the lips part no more
    assert lipsync.mouth_opening(sideways[None])[0] == pytest.approx(base, rel=0.02)
    turn = np.radians(25.0)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    rolled = (_open(face, 10.0) - face.mean(axis=0)) @ rotation.T  # a rolled head: the gap is square to the eyes
    assert lipsync.mouth_opening(rolled[None])[0] == pytest.approx(base + 10.0 / iod, rel=0.05)
    pressed = _open(face, -(lipsync.signed_opening(face[None])[0] + 0.01) * iod)  # crossed a little: closed
    lost = _open(face, -(lipsync.signed_opening(face[None])[0] + 0.1) * iod)  # crossed far: the detector lost them
    assert lipsync.mouth_opening(pressed[None])[0] == 0.0 and not lipsync.lips_lost(pressed[None])[0]
    assert np.isnan(lipsync.mouth_opening(lost[None])[0]) and lipsync.lips_lost(lost[None])[0]


def test_pearson_by_hand():
    a = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert lipsync.pearson(a, 2 * a + 1) == pytest.approx(1.0)
    assert lipsync.pearson(a, -a) == pytest.approx(-1.0)
    b = np.array([1.0, 3.0, 2.0, 4.0, 5.0])  # centred: a -1.5 -.5 .5 1.5, b -1.5 .5 -.5 1.5 -> 4 / 5
    assert lipsync.pearson(a, b) == pytest.approx(0.8)
    assert np.isnan(lipsync.pearson(np.ones(4), np.arange(4.0)))


def test_lmd_ignores_head_motion_and_measures_the_mouth():
    face = _face()
    moved = _face(scale=130.0, shift=(500.0, 260.0))  # same face, bigger and elsewhere
    assert lipsync.lmd(moved[None], face[None])[0] == pytest.approx(0.0, abs=1e-9)
    shifted = face.copy()
    shifted[48:68, 0] += 6.0  # the whole mouth 6 px to the right; the stable points stay
    iod = lipsync.interoculars(face[None])[0]
    assert lipsync.lmd(shifted[None], face[None])[0] == pytest.approx(6.0 / iod, rel=1e-6)


def test_jitter_of_steady_motion_is_zero_and_of_a_shake_is_known():
    face = _face()
    steady = np.stack([face + [2.0 * i, 0.0] for i in range(6)])
    assert lipsync.jitter(steady) == pytest.approx(0.0, abs=1e-12)
    shake = np.stack([face + [1.0 if i % 2 else 0.0, 0.0] for i in range(6)])  # second difference 2 px
    assert lipsync.jitter(shake) == pytest.approx(2.0 / lipsync.interoculars(face[None])[0])


def test_psnr_ssim_sharpness_flicker_by_hand():
    a = np.full((16, 16, 3), 0.5, np.float32)
    b = a + np.float32(0.1)  # mse 0.01 -> 20 dB
    assert im.psnr(a, b) == pytest.approx(20.0, abs=1e-4)
    assert im.psnr(a, a) == float("inf")
    assert im.ssim(a, a) == pytest.approx(1.0)
    assert im.sharpness(a) == 0.0
    checker = np.indices((16, 16)).sum(axis=0) % 2
    assert im.sharpness(np.repeat(checker[..., None], 3, axis=2).astype(np.float32)) > 1.0
    assert im.flicker([a, b, a]) == pytest.approx(0.1, abs=1e-6)


def test_skin_sharpness_sees_blur_not_what_the_mouth_shows():
    rng = np.random.default_rng(0)
    stubble = np.repeat(rng.uniform(0.2, 0.6, (64, 64, 1)), 3, axis=2).astype(np.float32)
    lips = np.array([[20, 28], [32, 24], [44, 28], [44, 36], [32, 40], [20, 36]], np.float64) + [100, 50]
    keep = im.skin_around_lips((64, 64), (100, 50), [lips], margin=3)
    assert keep.shape == (64, 64) and not keep[32, 32] and keep[5, 5] and not keep[28, 17]  # lips and margin out
    teeth = stubble.copy()
    teeth[29:36, 24:41] = np.where(np.indices((7, 17)).sum(axis=0)[..., None] % 2, 1.0, 0.0)  # bright edges
    assert im.sharpness(teeth) > 2 * im.sharpness(stubble)  # the whole box measures what the mouth shows
    assert im.sharpness(teeth, keep) == pytest.approx(im.sharpness(stubble, keep))  # the skin does not
    blurred = cv2.GaussianBlur(stubble, (0, 0), 1.5)
    assert im.sharpness(blurred, keep) < 0.3 * im.sharpness(stubble, keep)
    assert np.isnan(im.sharpness(stubble, np.zeros((64, 64), bool)))


def test_flicker_on_the_steps_where_the_lips_rest():
    face = _face()
    talk = np.stack([_open(face, g) for g in (0.0, 0.0, 0.0, 20.0, 0.0, 20.0, 0.0, 0.0, 0.0, 0.0)])
    still = lipsync.still_steps(talk)
    assert still.tolist() == [True, True, False, False, False, False, True, True, True]  # lips move on steps 2-5
    steady, popping = np.zeros((10, 4, 4)), np.zeros((10, 4, 4))
    steady[3] = steady[5] = 1.0  # a mouth moving with the line: no flicker where the lips rest
    popping[1] = 1.0  # a pop while the lips rest
    assert im.flicker(list(steady), still) == 0.0 and im.flicker(list(steady)) > 0.0
    assert im.flicker(list(popping), still) == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match="pair flags"):
        im.flicker(list(steady), still[:3])


def _rgba(values: np.ndarray) -> Frame:
    return new_frame(values.astype(np.float16), channel_names=("R", "G", "B", "A"))


def test_changed_outside_counts_bits_outside_the_mask_in_every_channel():
    rng = np.random.default_rng(0)
    a0 = _rgba(rng.random((10, 12, 4)))
    out = Frame([Part(a0.spec, a0.pixels.copy())])
    mask = new_frame(np.ones((2, 3, 1), np.float32), channel_names=("mask",), data_window=Window(4, 5, 3, 2),
                     display_window=Window(0, 0, 12, 10))
    out.pixels[5:7, 4:7, :3] += np.float16(0.25)  # inside the mask: allowed
    assert im.changed_outside(a0, out, mask) == 0
    out.pixels[0, 0, 3] = np.float16(0.0) if a0.pixels[0, 0, 3] else np.float16(1.0)  # alpha only, outside
    out.pixels[9, 11, 1] = -out.pixels[9, 11, 1] - np.float16(0.5)
    assert im.changed_outside(a0, out, mask) == 2
    negative_zero = Frame([Part(a0.spec, a0.pixels.copy())])
    negative_zero.pixels[3, 3, 0] = -negative_zero.pixels[3, 3, 0] if negative_zero.pixels[3, 3, 0] == 0 else 0
    assert im.changed_outside(a0, negative_zero, mask) == 1  # a changed bit counts, even -0 for 0


def test_whole_frame_fidelity_from_the_changed_region_equals_the_full_computation():
    from dubkernels.report.collect import SSIM_REACH, whole_frame_fidelity

    rng = np.random.default_rng(3)
    a = rng.random((60, 80, 3)).astype(np.float32)
    b = a.copy()
    b[20:30, 30:45] = rng.random((10, 15, 3))  # only this patch differs
    x0, y0, x1, y1 = 30 - SSIM_REACH, 20 - SSIM_REACH, 45 + SSIM_REACH, 30 + SSIM_REACH
    region = whole_frame_fidelity(a[y0:y1, x0:x1], b[y0:y1, x0:x1], 60, 80)
    full = whole_frame_fidelity(a, b, 60, 80)
    assert full == (pytest.approx(im.psnr(a, b)), pytest.approx(im.ssim(a, b)))
    assert region[0] == pytest.approx(full[0], rel=1e-9)
    assert region[1] == pytest.approx(full[1], abs=1e-6)


def test_lmd_of_the_movement_ignores_the_lips_build_and_measures_movement():
    face = _face()
    wide = face.copy()  # another person's build: a wider mouth, the same movement
    wide[48:68, 0] += (wide[48:68, 0] - wide[48:68, 0].mean()) * 0.2
    openings = [0.0, 4.0, 8.0, 2.0, 6.0, 4.0, 4.0]
    reference = np.stack([_open(face, g) for g in openings])
    same = np.stack([_open(wide, g) for g in openings])
    same[1::2] = (same[1::2] - 300.0) * 1.3 + 520.0  # and the head moves
    assert np.nanmean(lipsync.lmd(same, reference)) > 0.02  # the build counts in the paper's LMD
    np.testing.assert_allclose(lipsync.lmd_movement(same, reference), 0.0, atol=1e-9)
    late = np.stack([_open(wide, g) for g in [0.0, 4.0, 8.0, 2.0, 0.0, 4.0, 4.0]])  # frame 4 stays closed
    moved = lipsync.lmd_movement(late, reference)
    iod = lipsync.interoculars(face[None])[0]
    np.testing.assert_allclose(np.delete(moved, 4), 0.0, atol=1e-9)
    assert moved[4] == pytest.approx(3 * 6.0 / iod / 20, rel=1e-6)  # 3 of the 20 points 6 px off


def _talking(openings: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
    """A face per frame whose inner lips part by ``openings`` (pixels) and whose mouth corners spread by
    ``widths``."""
    face = _face()
    frames = []
    for i, gap in enumerate(openings):
        f = _open(face, float(gap))
        if widths is not None:
            f[[48, 60], 0] -= widths[i]
            f[[54, 64], 0] += widths[i]
        frames.append(f)
    return np.stack(frames)


def test_shape_r_sees_lips_that_spread_where_the_opening_r_is_blind():
    t = np.arange(60)
    spread = 3.0 * np.sin(t / 4.0)
    dubber = _talking(np.zeros(60), spread)  # lips that only widen and narrow
    same, flat = _talking(np.zeros(60), 0.5 * spread), _talking(np.zeros(60), np.zeros(60))
    assert np.isnan(lipsync.pearson(lipsync.mouth_opening(same), lipsync.mouth_opening(dubber)))
    assert lipsync.shape_r(same, dubber) == pytest.approx(1.0, abs=1e-6)  # half the size, same movement
    assert lipsync.shape_r(_talking(np.zeros(60), -spread), dubber) == pytest.approx(-1.0, abs=1e-6)
    assert np.isnan(lipsync.shape_r(flat, dubber))
    talking = _talking(4.0 + 4.0 * np.sin(t / 3.0), spread)
    shuffled = talking[np.random.default_rng(0).permutation(60)]
    assert lipsync.shape_r(shuffled, talking) < 0.5 < lipsync.shape_r(talking, talking)


def test_closure_agreement_counts_closed_and_open_frames_and_skips_the_band_between():
    reference = np.array([0.0, 0.01, 0.03, 0.1, 0.2, 0.01])  # closed, closed, on its way, open, open, closed
    result = np.array([0.02, 0.1, 0.5, 0.2, 0.01, 0.0])  # closed ok, open (miss), -, open ok, closed (miss), ok
    agreement = lipsync.closure_agreement(result, reference)
    assert agreement["all"] == pytest.approx(60.0)
    assert agreement["closed"] == pytest.approx(100.0 * 2 / 3) and agreement["open"] == pytest.approx(50.0)
    assert lipsync.closure_states(reference).tolist() == [0, 0, -1, 1, 1, 0]


def test_best_lag_finds_a_known_delay():
    rng = np.random.default_rng(1)
    reference = np.convolve(rng.normal(size=80), np.ones(3) / 3, mode="same")
    late = np.concatenate([np.zeros(2), reference[:-2]])  # the result two frames late
    assert lipsync.best_lag(late, reference)[0] == 2
    assert lipsync.best_lag(reference, reference) == (0, pytest.approx(1.0))
    early = np.concatenate([reference[3:], np.zeros(3)])
    assert lipsync.best_lag(early, reference)[0] == -3


def test_detection_noise_measures_frame_to_frame_wobble():
    smooth = np.sin(np.arange(200) / 20.0)
    noisy = smooth + np.random.default_rng(2).normal(0.0, 0.05, 200)
    assert lipsync.detection_noise(smooth) < 0.005
    assert lipsync.detection_noise(noisy) == pytest.approx(0.05, rel=0.2)
