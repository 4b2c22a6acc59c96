"""The own mouth's controlled warp: no folded or streaked mesh, and the dark of a mouth opened beyond its source."""
from __future__ import annotations

import numpy as np
import pytest

from dubkernels.face.align import template
from dubkernels.face.landmarks68 import INNER_LIPS, JAW, OUTER_LIPS
from dubkernels.face.mouth_warp import (DEEP_SHADE, MAX_STRETCH, _areas, draw_inner_mouth, inner_mouth_cover,
                                        inner_mouth_outline, mouth_interior_colour, warp_reach)
from skimage.measure import points_in_poly


def face(opening: float) -> np.ndarray:
    """The frontal mean face (256 crop) with its lower lip and chin dropped by ``opening`` pixels."""
    points = template(256).copy()
    lower = [i for i in OUTER_LIPS + INNER_LIPS if points[i, 1] > points[list(OUTER_LIPS)][:, 1].mean()]
    points[lower, 1] += opening
    points[list(JAW[5:12]), 1] += opening
    return points


def test_a_gentle_change_is_followed_all_the_way():
    assert warp_reach(face(0.0), face(3.0)) == 1.0


def test_a_fold_is_stopped_before_the_lips_cross():
    source = face(6.0)
    crossed = source.copy()
    crossed[list(INNER_LIPS[5:8]) + [56, 57, 58], 1] -= 40.0  # the lower lip pulled far above the upper one
    reach = warp_reach(source, crossed)
    assert 0.0 < reach < 1.0
    kept = source + reach * (crossed - source)
    ratio = _areas(kept) / _areas(source)
    sized = np.abs(_areas(source)) >= 0.05 * np.median(np.abs(_areas(source)))
    assert (ratio[sized] > 0).all()  # no triangle turned over
    beyond = source + min(1.0, reach + 0.05) * (crossed - source)
    assert (_areas(beyond)[sized] / _areas(source)[sized] <= 0.02).any()  # a little further folds


def test_a_stretch_beyond_the_limit_is_stopped():
    source = face(0.0)
    pulled = source.copy()
    pulled[list(JAW[5:12]), 1] += 120.0  # the chin dragged far down: skin stretched into streaks
    reach = warp_reach(source, pulled)
    assert reach < 1.0
    kept = source + reach * (pulled - source)
    assert (_areas(kept) / _areas(source)).max() <= MAX_STRETCH + 1e-6


def test_closed_or_crossed_inner_lips_have_nothing_to_paint():
    crossed = face(0.0)
    crossed[[65, 66, 67], 1] -= 8.0  # the detector put the lower inner lip above the upper (pressed lips)
    assert inner_mouth_cover(face(0.0), crossed) == 0.0
    assert inner_mouth_cover(crossed, face(12.0)) == pytest.approx(1.0)  # a crossed source fills no opening
    seam = face(0.0)
    seam[[65, 66, 67], 1] = seam[[63, 62, 61], 1] + 1.0  # lips a pixel apart: closed, the source's own seam shows
    assert inner_mouth_cover(crossed, seam) == 0.0


def test_the_opening_a_source_lacks_is_covered_and_painted():
    shut, open_ = face(0.0), face(12.0)
    assert inner_mouth_cover(open_, open_) == pytest.approx(0.0)
    assert inner_mouth_cover(shut, open_) > inner_mouth_cover(face(6.0), open_) > 0.2  # less opening, more cover
    rgba = np.dstack([np.full((256, 256, 3), 0.6, np.float32), np.ones((256, 256), np.float32)])
    dark = np.array([0.05, 0.02, 0.02], np.float32)
    painted = draw_inner_mouth(rgba, (0, 0), open_, dark, 1.0)
    inside = np.round(open_[list(INNER_LIPS)].mean(axis=0)).astype(int)
    assert painted[inside[1], inside[0], :3] == pytest.approx(dark * DEEP_SHADE, rel=0.05)  # dark deep inside
    edge = np.round(open_[62] + [0, 1]).astype(int)  # just below the upper inner lip: lit, the colour itself
    assert (painted[edge[1], edge[0], :3] > painted[inside[1], inside[0], :3]).all()
    assert np.array_equal(painted[10, 10], rgba[10, 10])  # outside the lips nothing changes
    assert draw_inner_mouth(rgba, (0, 0), open_, dark, 0.0) is rgba


def _area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def test_the_painted_opening_is_round_and_keeps_its_corners():
    open_ = face(12.0)
    polygon, curve = inner_mouth_outline(open_)
    np.testing.assert_allclose(polygon, open_[list(INNER_LIPS)])
    for corner in (60, 64):
        assert np.min(np.linalg.norm(curve - open_[corner], axis=1)) < 1e-9  # the lip corners stay pointed
    assert _area(curve) > 1.02 * _area(polygon)  # the lips' inner edge bulges round, not straight point to point
    rgba = np.dstack([np.full((256, 256, 3), 0.6, np.float32), np.ones((256, 256), np.float32)])
    painted = draw_inner_mouth(rgba, (0, 0), open_, np.zeros(3, np.float32), 1.0)
    ys, xs = np.mgrid[0:256, 0:256]
    inside = points_in_poly(np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], 1), polygon).reshape(256, 256)
    assert (painted[inside, 0] < 0.6).all()  # the landmarks' polygon is covered whole: no stretched lip shows


def test_the_interior_colour_is_the_dark_between_the_lips():
    image = np.full((256, 256, 3), 0.6, np.float32)
    points = face(12.0)
    inner = np.round(points[list(INNER_LIPS)].mean(axis=0)).astype(int)
    image[inner[1] - 3:inner[1] + 4, inner[0] - 15:inner[0] + 16] = (0.04, 0.01, 0.01)
    assert mouth_interior_colour([image], [points]) == pytest.approx([0.04, 0.01, 0.01])
    with pytest.raises(ValueError, match="no mouth pixels"):
        mouth_interior_colour([], [])
