"""Shared fixtures: real EXRs written by the tests, paths to ../shared/data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dubkernels.io.frames import Window, new_frame, write_frame

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_file(relative: str) -> Path:
    """Path of a file in ../shared/data, skipping the test when it is absent."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


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
