"""End to end on the real talking-face clips of ../shared/data (skipped when absent)."""
from __future__ import annotations

import numpy as np
import pytest

from dubkernels.analysis import analyze_sequence
from dubkernels.face.landmarks68 import MOUTH, interocular
from dubkernels.io.video import ingest_video
from tests.conftest import shared_file


@pytest.mark.parametrize("clip, size", [("ls_demo2.mp4", (1080, 1920)), ("lp_d18.mp4", (480, 480))])
def test_ingest_and_analyze_a_real_clip(tmp_path, clip, size):
    result = ingest_video(shared_file(f"clips/{clip}"), tmp_path / "plate.####.exr", frames=list(range(1001, 1009)))
    track = analyze_sequence(result.sequence)
    assert (track.width, track.height) == size
    assert track.counts()["detected"] == 8
    lm = track.landmarks_array()
    iod = np.array([interocular(f) for f in lm])
    assert np.all(iod > 0.05 * size[0])  # a real face, not a speck
    mouth = lm[:, list(MOUTH)]
    # lips sit below the nose tip and between the mouth corners' jaw line, every frame
    assert np.all(mouth[:, :, 1].mean(axis=1) > lm[:, 33, 1])
    assert np.all(mouth[:, :, 1].mean(axis=1) < lm[:, 8, 1])
    # the track is steady: the nose bridge moves less than a tenth of the IOD per frame
    assert np.all(np.linalg.norm(np.diff(lm[:, 27], axis=0), axis=1) < 0.1 * iod[1:])
