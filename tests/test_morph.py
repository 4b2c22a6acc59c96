"""Cuts between runs of actor frames are morphed along the motion: where the blends go, and that a blend has no
jump a cut would have, nor doubled edges a cross-fade would have."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from dubkernels.face.mouth_match import transitions
from dubkernels.render.morph import flow_morph


def _scene(shift: float, size: int = 96) -> np.ndarray:
    """A textured RGBA patch (smoothed noise) moved ``shift`` pixels to the right."""
    rng = np.random.default_rng(7)
    texture = cv2.GaussianBlur(rng.uniform(0.0, 1.0, (size, size + 40)).astype(np.float32), (0, 0), 2.5)
    matrix = np.float32([[1, 0, 20 - shift], [0, 1, 0]])
    grey = cv2.warpAffine(texture, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return np.dstack([grey, grey, grey, np.ones_like(grey)])


def _error(image: np.ndarray, shift: float) -> float:
    inner = (slice(16, -16), slice(16, -16), slice(0, 3))
    return float(np.abs(image[inner] - _scene(shift)[inner]).mean())


def test_a_morph_lands_between_the_two_images_without_doubling():
    a, b = _scene(0.0), _scene(4.0)
    middle = flow_morph(a, b, 0.5)
    crossfade = 0.5 * (a + b)
    assert _error(middle, 2.0) < 0.3 * _error(crossfade, 2.0)  # one sharp patch at 2 px, not two at 0 and 4
    np.testing.assert_array_equal(flow_morph(a, b, 0.0), a)
    np.testing.assert_array_equal(flow_morph(a, b, 1.0), b)
    with pytest.raises(ValueError, match="weight"):
        flow_morph(a, b, 1.5)


def test_a_blended_transition_has_no_jump_beyond_the_motion_of_its_sources():
    # Run A moves 1 px a frame; run B is the same motion 4 px further on (another moment of the take).
    length, cut = 4, 6
    run_a = [_scene(float(t)) for t in range(12)]
    run_b = [_scene(float(t) + 4.0) for t in range(12)]
    picks = np.array([t for t in range(cut)] + [20 + t for t in range(cut, 12)])
    blends = transitions(picks, 40, length)
    assert sorted(blends) == [4, 5, 6, 7]
    sequence = []
    for t in range(12):
        if t in blends:
            _, _, weight = blends[t]
            sequence.append(flow_morph(run_a[t], run_b[t], weight))
        else:
            sequence.append(run_a[t] if t < cut else run_b[t])
    steps = [float(np.abs(b[16:-16, 16:-16] - a[16:-16, 16:-16]).mean()) for a, b in zip(sequence, sequence[1:])]
    own = max(float(np.abs(b - a)[16:-16, 16:-16].mean()) for a, b in zip(run_a, run_a[1:]))
    plain_cut = float(np.abs(run_b[cut] - run_a[cut - 1])[16:-16, 16:-16].mean())
    assert max(steps) <= own * (1.0 + 4.0 / (length + 1)) * 1.15  # the 4 px spread over the blend's steps
    assert max(steps) < 0.6 * plain_cut


def test_transitions_blend_only_cuts_between_long_enough_runs():
    picks = np.array([0, 1, 2, 3, 10, 11, 12, 13, 13, 14, 30])
    blends = transitions(picks, 40, 4)
    # the cut 3 -> 10 blends targets 2-5: run 0.. carried on (2, 3, 4, 5), run 10.. started early (8, 9, 10, 11)
    assert blends[2] == (2, 8, pytest.approx(0.2)) and blends[5] == (5, 11, pytest.approx(0.8))
    assert sorted(blends) == [2, 3, 4, 5]  # a hold (13, 13) is no cut; 14 -> 30 ends the shot: no room to blend
    assert transitions(picks, 40, 1) == {}
    assert transitions(np.array([0, 1, 2, 3, 10, 11]), 4, 4) == {}  # source 4 (run 0.. carried on) does not exist
    close = transitions(np.array([0, 1, 5, 6, 2, 3]), 40, 4)
    assert sorted(close) == [0, 1, 2, 3]  # 6 -> 2 comes within the blend of 1 -> 5: a plain cut
