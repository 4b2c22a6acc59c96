"""A drawn face registered onto the plate by its nose: known offsets found, bad matches refused."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from dubkernels.render.register import MAX_MOVE_IOD, misregistration, nose_box
from tests.test_own_mouth import face


def nose(size: int = 140, seed: int = 0) -> np.ndarray:
    """(size, size, 3) scene-linear skin with two dark nostrils and fine texture."""
    rng = np.random.default_rng(seed)
    luma = 0.35 + 0.03 * cv2.GaussianBlur(rng.normal(0.0, 1.0, (size, size)).astype(np.float32), (0, 0), 1.5)
    for cx in (0.4 * size, 0.6 * size):
        cv2.ellipse(luma, (int(cx), int(0.55 * size)), (9, 5), 0, 0, 360, 0.05, -1, cv2.LINE_AA)
    return np.clip(luma, 0.01, None)[..., None] * np.array([1.0, 0.8, 0.65], np.float32)


def test_a_known_offset_is_found_to_a_fraction_of_a_pixel():
    plate = nose()
    for dx, dy in ((6, -4), (-3, 9), (0, 0)):
        drawn = np.roll(plate, (dy, dx), axis=(0, 1))  # the drawn nose sits (dx, dy) off the plate's
        found = misregistration(drawn[20:-20, 20:-20], plate[20:-20, 20:-20], iod=100.0)
        assert found is not None
        np.testing.assert_allclose(found, (-dx, -dy), atol=0.3)  # move it back


def test_a_blurred_plate_still_matches_a_sharp_drawing():
    plate = cv2.GaussianBlur(nose(), (0, 0), 2.0)  # the camera's motion blur on the plate, none on the source
    drawn = np.roll(nose(), (5, 2), axis=(0, 1))
    found = misregistration(drawn[20:-20, 20:-20], plate[20:-20, 20:-20], iod=100.0)
    assert found is not None and np.allclose(found, (-2, -5), atol=0.5)


def test_no_match_or_too_far_is_left_as_drawn():
    flat = np.full((100, 100, 3), 0.3, np.float32)
    assert misregistration(flat, flat, iod=100.0) is None  # nothing to match
    other = nose(seed=3)[:, ::-1] * 0.5 + 0.2  # unrelated content
    assert misregistration(nose()[20:-20, 20:-20], np.roll(other, 17, axis=0)[20:-20, 20:-20], iod=100.0) is None
    far = int(MAX_MOVE_IOD * 40) + 4  # with a small face, a shift beyond the limit is a failed match, not an error
    drawn = np.roll(nose(), far, axis=1)
    assert misregistration(drawn[20:-20, 20:-20], nose()[20:-20, 20:-20], iod=40.0) is None
    with pytest.raises(ValueError, match="one size"):
        misregistration(flat, flat[:50], iod=100.0)


def test_the_nose_box_holds_the_nostrils_and_not_the_lips():
    points = face(0.0, scale=2.0)
    x0, y0, x1, y1 = nose_box(points, (1000, 1000))
    assert x0 < points[31, 0] and points[35, 0] < x1 and y0 <= points[33, 1] < y1
    assert y1 < points[50:53, 1].min()  # the upper lip moves with the line: left out
    assert nose_box(points - (points[31, 0] - 2, 0), (1000, 1000)) is None  # beyond the plate's edge
