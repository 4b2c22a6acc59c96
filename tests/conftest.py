"""Shared fixtures: real EXRs written by the tests, paths to ../shared/data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dubkernels.io.frames import Window, new_frame, read_frame, write_frame

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    """torch 2.13 deprecates TorchScript (``torch.jit.script``, ``torch.jit.load``), but Nuke's Inference node reads
    only TorchScript .pt files, so the export and the tests that load it back keep it (docs/identity_swap.md: the
    path forward); that deprecation alone is not shown."""
    config.addinivalue_line("filterwarnings", r"ignore:`torch\.jit\.(script|load|save)` is deprecated:DeprecationWarning")


def shared_file(relative: str) -> Path:
    """Path of a file in ../shared/data, skipping the test when it is absent."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def same_bits(a: Path, b: Path) -> bool:
    """Two EXRs equal in every part, channel and pixel, bit for bit (half floats compared as their bytes)."""
    first, second = read_frame(a), read_frame(b)
    return len(first.parts) == len(second.parts) and all(
        list(x.spec.channelnames) == list(y.spec.channelnames) and x.pixels.shape == y.pixels.shape
        and x.pixels.tobytes() == y.pixels.tobytes() for x, y in zip(first.parts, second.parts))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def write_sequence(tmp_path):
    """Write a small half-float RGB sequence; returns its pattern."""

    def make(frames=range(1001, 1004), size=(48, 64), name="plate", value=None) -> str:
        pattern = str(tmp_path / f"{name}.####.exr")
        for f in frames:
            pix = np.full((*size, 3), f / 2000.0 if value is None else value, np.float32)
            write_frame(pattern.replace("####", f"{f:04d}"), new_frame(pix, data_window=Window(0, 0, size[1], size[0])))
        return pattern

    return make
