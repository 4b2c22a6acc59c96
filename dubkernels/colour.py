"""Colour management through OpenColorIO.

Pixels in files are scene-linear in the config's ``scene_linear`` role (the
working space). Networks and face detectors see "network space": sRGB-encoded,
display-referred values in 0..1 (the config's sRGB Encoded Rec.709
colourspace, or one the user names). Nothing here guesses a transfer curve by
hand: every conversion is an OCIO CPU processor, cached per (source, target).

Example:
    >>> colour = ColourSpaces()          # $OCIO, else OCIO's built-in CG config
    >>> srgb = colour.to_network(linear_rgb)
    >>> back = colour.from_network(srgb)
"""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import PyOpenColorIO as ocio

from dubkernels.errors import ColourError

BUILTIN_CONFIG = "ocio://default"
NETWORK_SPACE_CANDIDATES = (
    "sRGB Encoded Rec.709 (sRGB)",
    "srgb_tx",
    "sRGB - Texture",
    "Utility - sRGB - Texture",
    "Input - Generic - sRGB - Texture",
)


def load_config(path: str | None = None) -> ocio.Config:
    """Load ``path``, else ``$OCIO``, else OCIO's built-in default CG config."""
    source = path or os.environ.get("OCIO") or BUILTIN_CONFIG
    try:
        return ocio.Config.CreateFromFile(source)
    except Exception as exc:  # OCIO raises its own Exception type
        hint = "fix or unset $OCIO" if source == os.environ.get("OCIO") else "check the path"
        raise ColourError(f"OCIO config '{source}' cannot be loaded ({exc}); {hint}.") from exc


def _resolve(config: ocio.Config, name: str) -> str:
    space = config.getColorSpace(name)
    if space is None:
        known = ", ".join(sorted(cs.getName() for cs in config.getColorSpaces()))
        raise ColourError(
            f"colourspace '{name}' is not in OCIO config '{config.getName()}'; choose one of: {known}."
        )
    return space.getName()


class ColourSpaces:
    """The working space, network space and cached processors of one OCIO config."""

    def __init__(self, config: ocio.Config | str | None = None, network_space: str | None = None):
        self.config = config if isinstance(config, ocio.Config) else load_config(config)
        self.working = self._role("scene_linear")
        self.network = self._network_space(network_space)
        self._cpu = lru_cache(maxsize=32)(self._make_cpu)

    def _role(self, role: str) -> str:
        space = self.config.getColorSpace(role)
        if space is None:
            raise ColourError(
                f"OCIO config '{self.config.getName()}' has no '{role}' role; add it to the config."
            )
        return space.getName()

    def _network_space(self, name: str | None) -> str:
        if name:
            return _resolve(self.config, name)
        for candidate in NETWORK_SPACE_CANDIDATES:
            space = self.config.getColorSpace(candidate)
            if space is not None:
                return space.getName()
        raise ColourError(
            f"OCIO config '{self.config.getName()}' has no sRGB-encoded texture colourspace; "
            "name the network colourspace explicitly (--network-colourspace)."
        )

    def resolve(self, name: str) -> str:
        """Canonical name of colourspace (or alias or role) ``name``; clear error if unknown."""
        return _resolve(self.config, name)

    def _make_cpu(self, source: str, target: str) -> ocio.CPUProcessor:
        return self.config.getProcessor(source, target).getDefaultCPUProcessor()

    def convert(self, rgb: np.ndarray, source: str, target: str) -> np.ndarray:
        """Convert a float (..., 3) RGB array from ``source`` to ``target``; returns a new float32 array."""
        if rgb.shape[-1] != 3:
            raise ValueError(f"expected (..., 3) RGB, got {rgb.shape}")
        out = np.array(rgb, dtype=np.float32, order="C", copy=True)
        source, target = self.resolve(source), self.resolve(target)
        if source != target:
            self._cpu(source, target).applyRGB(out)
        return out

    def to_network(self, rgb: np.ndarray, source: str | None = None) -> np.ndarray:
        """Scene-linear (or ``source``) RGB -> network space (sRGB-encoded, nominally 0..1)."""
        return self.convert(rgb, source or self.working, self.network)

    def from_network(self, rgb: np.ndarray, target: str | None = None) -> np.ndarray:
        """Network-space RGB -> scene-linear (or ``target``)."""
        return self.convert(rgb, self.network, target or self.working)


@lru_cache(maxsize=8)
def _cached(source: str) -> "ColourSpaces":
    return ColourSpaces(source)


def colour_spaces(config: str | None = None) -> "ColourSpaces":
    """The ColourSpaces of ``config`` (else $OCIO, else the built-in config), made once per process."""
    return _cached(config or os.environ.get("OCIO") or BUILTIN_CONFIG)


def to_uint8(network_rgb: np.ndarray) -> np.ndarray:
    """Quantise network-space RGB (0..1) to uint8 for detectors and previews (NaN: 0)."""
    return (np.clip(np.nan_to_num(network_rgb, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
