"""A source frame blurred to the softness of the frame it is drawn into, never sharpened."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from dubkernels.render.softness import _detail, blurred, matching_blur, skin_box
from tests.test_own_mouth import face


def stubble(size: int = 96, seed: int = 0) -> np.ndarray:
    """(size, size, 3) scene-linear skin with fine dark detail, like stubble."""
    rng = np.random.default_rng(seed)
    grain = cv2.GaussianBlur(rng.normal(0.0, 1.0, (size, size)).astype(np.float32), (0, 0), 0.7)
    return np.clip(0.3 + 0.08 * grain, 0.01, None)[..., None] * np.array([1.0, 0.8, 0.65], np.float32)


EVERYWHERE = np.ones((96, 96), bool)


def test_a_sharp_source_is_blurred_to_a_frame_the_camera_blurred():
    source = stubble()
    frame = cv2.GaussianBlur(stubble(seed=1), (0, 0), 2.0)  # another stretch of the same skin, blurred
    sigma = matching_blur(source, EVERYWHERE, frame, EVERYWHERE)
    assert 1.0 < sigma < 3.0  # about the camera's 2 px
    assert _detail(blurred(source, sigma), EVERYWHERE) == pytest.approx(_detail(frame, EVERYWHERE), rel=0.05)


def test_sources_softer_alike_or_unmeasurable_are_left_as_they_are():
    soft = cv2.GaussianBlur(stubble(), (0, 0), 1.5)
    assert matching_blur(soft, EVERYWHERE, stubble(seed=1), EVERYWHERE) == 0.0  # detail is not invented
    assert matching_blur(stubble(), EVERYWHERE, stubble(seed=1), EVERYWHERE) == 0.0  # alike: the measure's noise
    assert matching_blur(stubble(), np.zeros_like(EVERYWHERE), soft, EVERYWHERE) == 0.0  # no skin to measure on
    source = stubble()
    assert blurred(source, 0.0) is source


def test_the_skin_box_surrounds_the_lips_and_leaves_them_out():
    landmarks = face(0.0, shift=(400.0, 300.0))
    box, keep = skin_box(landmarks, (1920, 1080))
    x0, y0, x1, y1 = box
    lips = landmarks[48:60]
    assert x0 < lips[:, 0].min() and lips[:, 0].max() < x1 and y0 < lips[:, 1].min() and lips[:, 1].max() < y1
    assert keep.shape == (y1 - y0, x1 - x0)
    centre = np.round(lips.mean(axis=0) - (x0, y0)).astype(int)
    assert not keep[centre[1], centre[0]] and keep[1, 1]  # the lips left out, the skin kept
    assert skin_box(landmarks - (380.0, 0.0), (1920, 1080)) is None  # off the plate's left edge
