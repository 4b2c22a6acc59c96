"""Real face images for tests: the astronaut (scikit-image) and ../shared/data/faces photos."""
from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from dubkernels.colour import ColourSpaces
from tests.conftest import shared_file


def astronaut_linear(colour: ColourSpaces) -> np.ndarray:
    """The astronaut photo as scene-linear float32 RGB (512, 512, 3)."""
    return colour.from_network(data.astronaut().astype(np.float32) / 255.0)


def photo_linear(name: str, colour: ColourSpaces) -> np.ndarray:
    """A photo from ../shared/data/faces as scene-linear RGB (skips when absent)."""
    bgr = cv2.imread(str(shared_file(f"faces/{name}")))
    return colour.from_network(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)
