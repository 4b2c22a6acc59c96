"""scripts/check_report_page.py: the report page read as headless Chromium renders it."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from dubkernels.pipeline.dub import dub_shot
from dubkernels.pipeline.shot import load_shot
from tests.test_dub import _quiet, _shot_file
from tests.tiny_nets import tiny_sample

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_report_page.py"


def _script():
    spec = importlib.util.spec_from_file_location("check_report_page", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEEN = {"verdict_first_line": "delivered: own_mouth (ranked best against the bar)", "verdict_bottom": 300.0,
        "window_height": 713, "thumbnails": 3, "thumbnails_loaded": 3, "movie_ready_state": 4, "movie_error": None,
        "movie_seconds": 4.0, "movie_width": 1152, "audio_tracks": 1}


def test_a_page_that_shows_what_a_supervisor_needs_passes():
    assert _script().problems(SEEN, expect_sound=True) == []


@pytest.mark.parametrize("change, expected", [
    ({"verdict_first_line": "DubKernels"}, "does not open with the verdict"),
    ({"verdict_bottom": 900.0}, "below the fold"),
    ({"thumbnails_loaded": 1}, "2 of 3 frames to look at did not load"),
    ({"movie_error": 4, "movie_ready_state": 0}, "the review movie did not load"),
    ({"audio_tracks": 0}, "no audio track"),
])
def test_each_thing_missing_from_the_page_is_named(change, expected):
    found = _script().problems({**SEEN, **change}, expect_sound=True)
    assert len(found) == 1 and expected in found[0]


def test_a_line_is_not_asked_of_a_dub_without_one():
    assert _script().problems({**SEEN, "audio_tracks": 0}, expect_sound=False) == []


def test_chromium_renders_a_real_report_with_the_verdict_above_the_fold(tmp_path):
    root, made = tiny_sample(tmp_path, 4)
    shot = load_shot(_shot_file(root, made, "page"))
    dub_shot(shot, log=_quiet, quick=True)
    shot_png = tmp_path / "page.png"
    done = subprocess.run([sys.executable, str(SCRIPT), str(shot.work), "--screenshot", str(shot_png)],
                          capture_output=True, text=True)
    if done.returncode == 2:
        pytest.skip("no Chromium here, and the script could not install Debian's package")
    assert done.returncode == 0, done.stderr  # the verdict above the fold, the thumbnails and the movie loaded
    assert shot_png.stat().st_size > 10_000
