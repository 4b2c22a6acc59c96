"""The A/V check: known shifts of the sound found to within a frame, 'no speech' for silence or unrelated sound."""
from __future__ import annotations

import numpy as np
import pytest

from dubkernels.metrics.av_sync import MIN_FRAMES, AVSync, av_sync, speech_envelope

FPS, RATE = 25.0, 16000


def talking(frames: int, seed: int) -> np.ndarray:
    """(frames,) a mouth opening: syllables of 3-8 frames, some pauses."""
    rng = np.random.default_rng(seed)
    out: list[float] = []
    while len(out) < frames:
        length = int(rng.integers(3, 9))
        peak = 0.0 if rng.random() < 0.2 else float(rng.uniform(0.05, 0.25))
        out += list(peak * np.sin(np.linspace(0.0, np.pi, length)))
    return np.array(out[:frames])


def voiced(opening: np.ndarray, shift: int, seed: int) -> np.ndarray:
    """Mono speech-like sound whose loudness follows ``opening``, ``shift`` frames late (+: after the mouth)."""
    rng = np.random.default_rng(seed)
    hop = int(RATE / FPS)
    level = np.interp(np.arange(len(opening) * hop) / hop - shift, np.arange(len(opening)), opening, left=0, right=0)
    carrier = rng.normal(0.0, 1.0, len(level))  # broadband: its voice band carries the loudness
    return (0.002 + level) * carrier


@pytest.mark.parametrize("shift", [-5, -2, 0, 2, 5])
def test_a_known_shift_of_the_sound_is_found(shift):
    opening = talking(300, seed=1)
    envelope = speech_envelope(voiced(opening, shift, seed=2), RATE, FPS, len(opening))
    sync = av_sync(envelope, opening, FPS)
    assert sync.verdict == "speech"
    assert sync.lag is not None and abs(sync.lag - (-shift)) <= 1  # the sound late: the picture early
    assert "frames" in sync.text() and sync.r > 0.3


def test_silence_and_unrelated_sound_are_no_speech():
    opening = talking(300, seed=1)
    silent = av_sync(speech_envelope(np.zeros(300 * 640), RATE, FPS, 300), opening, FPS)
    assert silent.verdict == "silent" and silent.lag is None and "silent" in silent.text()
    other = av_sync(speech_envelope(voiced(talking(300, seed=7), 0, seed=3), RATE, FPS, 300), opening, FPS)
    assert other.verdict == "no speech" and other.lag is None and "no speech" in other.text()
    short = talking(MIN_FRAMES - 1, seed=1)
    assert av_sync(speech_envelope(voiced(short, 0, 2), RATE, FPS, len(short)), short, FPS).verdict == "too short"
    assert av_sync(np.zeros(300), np.full(300, np.nan), FPS).verdict == "no mouth"


def test_the_check_round_trips_through_the_report():
    opening = talking(300, seed=1)
    sync = av_sync(speech_envelope(voiced(opening, 2, seed=2), RATE, FPS, 300), opening, FPS)
    back = AVSync.from_dict(sync.as_dict())
    assert (back.verdict, back.lag) == (sync.verdict, sync.lag) and back.r == pytest.approx(sync.r, abs=1e-4)


def test_a_real_take_with_its_own_sound_moved_is_found():
    """ls_demo2 carries its speaker's own speech: the sound moved by -5, -2, +2, +5 frames is found within one."""
    import cv2

    from dubkernels.face.detect import FaceDetector, to_gray
    from dubkernels.io.audio import read_audio
    from dubkernels.metrics.lipsync import mouth_opening
    from tests.conftest import shared_file

    import av

    clip = shared_file("clips/ls_demo2.mp4")
    detector, marks = FaceDetector(), []
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index == 500:
                break
            rgb = frame.to_ndarray(format="rgb24")
            gray = to_gray(cv2.resize(rgb, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
            found = detector.detect(gray)
            marks.append(detector.landmarks(gray, found[0].box) if found else np.full((68, 2), np.nan))
    opening = mouth_opening(np.stack(marks))
    sound = read_audio(clip)
    assert sound is not None
    for shift in (-5, -2, 2, 5):
        line = sound.cut(-shift / 25.0, len(opening) / 25.0)  # the sound moved ``shift`` frames later
        sync = av_sync(speech_envelope(line.mono(), line.rate, 25.0, len(opening)), opening, 25.0)
        print(shift, sync.verdict, sync.lag, round(sync.r, 3), round(sync.z, 2))
        assert sync.verdict == "speech" and sync.lag is not None and abs(sync.lag + shift) <= 1, (shift, sync)
