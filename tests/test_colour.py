"""OCIO working space / network space conversions."""
from __future__ import annotations

import numpy as np
import pytest

from dubkernels.colour import ColourSpaces, load_config, to_uint8
from dubkernels.errors import ColourError


def test_builtin_config_roles_and_network_space(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)
    colour = ColourSpaces()
    assert colour.working == "ACEScg"
    assert colour.network == "sRGB Encoded Rec.709 (sRGB)"


def test_round_trip_error_is_tiny(rng):
    colour = ColourSpaces()
    linear = rng.uniform(0.0, 1.0, (32, 32, 3)).astype(np.float32)
    net = colour.to_network(linear)
    back = colour.from_network(net)
    assert np.max(np.abs(back - linear)) < 1e-4
    assert not np.shares_memory(net, linear)


def test_mid_grey_maps_to_srgb_mid_tone():
    colour = ColourSpaces()
    grey = colour.to_network(np.full((1, 1, 3), 0.18, np.float32))
    assert 0.45 < float(grey[0, 0, 0]) < 0.48  # 18% grey is ~0.46 in sRGB encoding
    assert to_uint8(grey)[0, 0, 0] in range(115, 123)


def test_ocio_env_is_used(monkeypatch, tmp_path):
    config = load_config("ocio://studio-config-latest")
    path = tmp_path / "studio.ocio"
    path.write_text(config.serialize())
    monkeypatch.setenv("OCIO", str(path))
    assert load_config().getName() == config.getName()


def test_unknown_colourspace_lists_choices():
    with pytest.raises(ColourError, match="'Not A Space' is not in OCIO config.*ACEScg"):
        ColourSpaces(network_space="Not A Space")
    with pytest.raises(ColourError, match="cannot be loaded"):
        load_config("/nonexistent/config.ocio")


def test_alias_resolves_to_canonical_name():
    assert ColourSpaces(network_space="srgb_tx").network == "sRGB Encoded Rec.709 (sRGB)"
