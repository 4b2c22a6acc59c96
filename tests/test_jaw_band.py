"""The plate below a moved jaw follows it (no double chin); lips the detector lost are named."""
import numpy as np
import pytest

from dubkernels.face.align import template
from dubkernels.face.mouth_match import mistracked, mouth_shapes
from dubkernels.render.jaw_band import band_mesh, render_band

SIZE = 512


def _plate() -> np.ndarray:
    return template(256).copy() + [128.0, 100.0]


def _raised(landmarks: np.ndarray, pixels: float) -> np.ndarray:
    out = landmarks.copy()
    out[5:12, 1] -= pixels
    return out


def test_the_band_draws_the_plate_jaw_at_the_new_one_and_keeps_its_outer_edge():
    plate = _plate()
    dest = _raised(plate, 10.0)
    drawn, samples, triangles = band_mesh(plate, dest, 100.0)
    half = len(drawn) // 2
    np.testing.assert_allclose(drawn[:half], dest[3:14])  # the plate's jaw line drawn at the new jaw
    np.testing.assert_allclose(samples[:half], plate[3:14])
    np.testing.assert_allclose(drawn[half:], samples[half:])  # the outer edge does not move
    assert triangles.max() == len(drawn) - 1


def test_a_raised_chin_pulls_the_plate_below_it_up_and_leaves_the_far_plate_alone():
    plate = _plate()
    dest = _raised(plate, 12.0)
    rows = np.arange(SIZE, dtype=np.float32)[:, None, None] * np.ones((1, SIZE, 3), np.float32)  # texture = its row
    rgb, alpha, window = render_band(plate, dest, rows, (0, 0), (SIZE, SIZE))
    x, y = np.round(dest[8]).astype(int)
    just_below = rgb[y + 2 - window.y, x - window.x, 0]
    assert just_below == pytest.approx(plate[8, 1] + 2, abs=1.5)  # the plate's chin edge drawn at the new chin
    far = int(y + 80 - window.y)
    assert rgb[far, x - window.x, 0] == pytest.approx(y + 80, abs=4.0)  # near the outer edge: barely moved
    assert alpha[y + 2 - window.y, x - window.x] == pytest.approx(1.0) and alpha.min() == 0.0  # fades out


def test_lips_the_detector_crossed_or_jumped_are_mistracked():
    plate = _plate()
    crossed = plate.copy()
    crossed[[65, 66, 67], 1] -= 10.0  # the lower inner lip read far above the upper
    jumped = plate.copy()
    jumped[[65, 66, 67], 1] += 8.0  # an opening the steadied neighbours do not share
    raw = mouth_shapes(np.stack([plate, crossed, jumped]))
    steady = mouth_shapes(np.stack([plate, plate, plate]))
    assert mistracked(raw, steady).tolist() == [False, True, True]
