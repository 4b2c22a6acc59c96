"""LPIPS and FID from user-given TorchScript files: the distances computed from the models' features,
the Fréchet distance against hand-computed values, clear errors for bad files (the report's use of
them is tested with the dub in test_dub.py)."""
from __future__ import annotations

import numpy as np
import pytest

from dubkernels.metrics.perceptual import PerceptualError, PerceptualModels, frechet_distance
from tests.fake_metric_models import save_fake_models


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return save_fake_models(tmp_path_factory.mktemp("models"))



def test_lpips_is_the_summed_squared_feature_difference(models):
    rng = np.random.default_rng(3)
    a = [rng.random((20, 24, 3)).astype(np.float32) for _ in range(3)]
    b = [np.clip(x + 0.1 * i, 0, 1) for i, x in enumerate(a)]
    loaded = PerceptualModels.load(models[0], None)
    got = loaded.lpips(a, b)
    expected = [float(np.sum((x.mean(axis=(0, 1)) - y.mean(axis=(0, 1))) ** 2)) for x, y in zip(a, b)]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-9)
    assert got[0] == pytest.approx(0.0, abs=1e-12) and got[2] > got[1] > 0.0


def test_frechet_distance_matches_the_one_dimensional_formula():
    rng = np.random.default_rng(5)
    a, b = rng.normal(1.0, 2.0, (400, 1)), rng.normal(-0.5, 0.5, (300, 1))
    va, vb = np.var(a, ddof=1), np.var(b, ddof=1)
    expected = (a.mean() - b.mean()) ** 2 + va + vb - 2.0 * np.sqrt(va * vb)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    same = rng.normal(0.0, 1.0, (200, 4))
    assert frechet_distance(same, same) == pytest.approx(0.0, abs=1e-6)
    assert np.isnan(frechet_distance(same[:1], same))  # one sample has no covariance


def test_inception_features_go_in_as_uint8(models):
    image = np.full((10, 12, 3), 0.5, np.float32)
    features = PerceptualModels.load(None, models[1]).features([image, image * 0])
    assert features.shape == (2, 6)
    np.testing.assert_allclose(features[0, :3], round(0.5 * 255) / 255.0, rtol=1e-6)
    np.testing.assert_allclose(features[1], 0.0)


def test_bad_model_files_are_clear_errors(tmp_path, models):
    with pytest.raises(PerceptualError, match="not found.*vgg16.pt"):
        PerceptualModels.load(tmp_path / "missing.pt", None)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not an archive")
    with pytest.raises(PerceptualError, match="junk.pt is not a TorchScript archive"):
        PerceptualModels.load(None, junk)
    swapped = PerceptualModels.load(models[1], None)  # the Inception file given as the LPIPS model
    with pytest.raises(PerceptualError, match="does not take"):
        swapped.lpips([np.zeros((8, 8, 3), np.float32)], [np.zeros((8, 8, 3), np.float32)])
