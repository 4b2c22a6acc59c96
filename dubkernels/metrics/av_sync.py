"""Does the line sit on the mouth: the speech's loudness against the mouth's opening, at every lag.

No model weights: the line's voice band (300-3400 Hz), its power over each frame's span of time in decibels,
is the speech envelope at the shot's frame rate. Speech gets louder as the mouth opens and quieter as it closes,
syllable by syllable: at the syllabic rhythm (2-8 Hz, ``RHYTHM_HZ``) the envelope and the mouth's opening (the
report's :func:`dubkernels.metrics.lipsync.mouth_opening`) move together, while slower changes (a pause, a
long vowel through a still mouth) and the detector's frame-to-frame noise do not. The check band-passes both
curves to that rhythm and correlates them at each lag within ``MAX_LAG`` frames. In sync, the peak is at lag 0
(on pair A's actor, its own speech: r 0.3-0.55 over 7-20 s). A peak that does not stand out from the
correlations far from it (at lags ``FAR_LAGS``, where no speech follows a mouth) is not speech following this
mouth: music, room noise, another scene's sound. A line whose voice band stays under ``SILENT_DB`` is silent.

SyncNet (Chung and Zisserman 2016) is the field's measure of audio-visual sync, but its weights cannot be had
here; :func:`av_sync` takes any curve of per-frame speech activity, so a user-given model's output can replace
the envelope.

Example:
    >>> envelope = speech_envelope(line.mono(), line.rate, fps=25, frames=180)
    >>> sync = av_sync(envelope, mouth_opening(landmarks), fps=25)
    >>> sync.verdict, sync.lag, sync.r      # ('speech', 0, 0.19)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

VOICE_BAND_HZ = (300.0, 3400.0)
RHYTHM_HZ = (2.0, 8.0)  # the syllabic rhythm both curves are compared at
SILENT_DB = -60.0  # a line whose voice band's loud frames (the 90th percentile) stay under this is silent
FLOOR_DB = -100.0  # the envelope's floor (digital silence)
MAX_LAG = 10  # frames either way the peak is looked for
FAR_LAGS = (15, 50)  # frames either way where no speech follows a mouth: the correlations' chance spread
MIN_R = 0.1  # a peak under this correlation is no match
MIN_Z = 3.5  # ... nor one less than this many standard deviations above the far lags' correlations
MIN_FRAMES = 2 * FAR_LAGS[1] + 10  # fewer frames than this: too short to tell speech from chance


@dataclass(frozen=True)
class AVSync:
    """The check's answer: ``verdict`` 'speech' (a lag and its r), 'no speech' (a sound that does not follow the
    mouth), 'silent', 'too short' or 'no mouth'; ``lag`` frames the mouth moves after the sound (+: the
    picture is late; None without speech); ``r`` the correlation at that lag; ``z`` how far it stands above the
    far lags' (standard deviations); ``curve`` lag -> r."""

    verdict: str
    lag: int | None = None
    r: float = float("nan")
    z: float = float("nan")
    curve: dict[int, float] | None = None

    def text(self) -> str:
        """One line for the report."""
        if self.verdict != "speech" or self.lag is None:
            return {"silent": "no speech (the line is silent)", "too short": "too short to measure",
                    "no mouth": "no mouth to measure", "no speech": "no speech that follows a mouth (music, noise, "
                    f"another scene's sound: best r {self.r:.2f})"}[self.verdict]
        late = "late" if self.lag > 0 else "early"
        where = "in sync" if self.lag == 0 else f"the mouth {abs(self.lag)} frame(s) {late}"
        return f"lag {self.lag:+d} frames, {where} (r {self.r:.2f})"

    @classmethod
    def from_dict(cls, data: dict) -> AVSync:
        """The check as :meth:`as_dict` wrote it (a report's metrics.json)."""
        r, z = data.get("r"), data.get("z")
        curve = {int(k): float(v) for k, v in (data.get("curve") or {}).items()}
        return cls(str(data["verdict"]), data.get("lag"), float("nan") if r is None else float(r),
                   float("nan") if z is None else float(z), curve)

    def as_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict, "lag": self.lag, "r": None if np.isnan(self.r) else round(self.r, 4),
                "z": None if np.isnan(self.z) else round(self.z, 2),
                "curve": {str(k): round(v, 4) for k, v in (self.curve or {}).items()}}


def speech_envelope(samples: np.ndarray, rate: int, fps: float, frames: int) -> np.ndarray:
    """(frames,) the voice band's power in dB over each frame's span of time (frame i centred at i / fps seconds
    after the first sample), from mono ``samples`` at ``rate``; ``FLOOR_DB`` where there is no sound."""
    samples = np.asarray(samples, np.float64)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (n,), got {samples.shape}")
    out = np.full(frames, FLOOR_DB)
    if len(samples) < 32:
        return out
    band = sosfiltfilt(butter(4, VOICE_BAND_HZ, btype="band", fs=rate, output="sos"), samples)
    hop = rate / fps
    for i in range(frames):
        lo, hi = int(round((i - 0.5) * hop)), int(round((i + 0.5) * hop))
        span = band[max(lo, 0) : max(hi, 0)]
        if len(span):
            out[i] = max(10.0 * np.log10(np.mean(span**2) + 1e-30), FLOOR_DB)
    return out


def _rhythm(curve: np.ndarray, fps: float) -> np.ndarray:
    """``curve`` (gaps filled in line) band-passed to the syllabic rhythm (the band's top held under the Nyquist)."""
    curve = curve.copy()
    missing = ~np.isfinite(curve)
    if missing.any():
        curve[missing] = np.interp(np.flatnonzero(missing), np.flatnonzero(~missing), curve[~missing])
    top = min(RHYTHM_HZ[1], 0.45 * fps)
    return sosfiltfilt(butter(2, (RHYTHM_HZ[0], top), btype="band", fs=fps, output="sos"), curve)


def _r(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """Pearson r of a[t] and b[t + lag] over the entries both have."""
    x, y = (a[: len(a) - lag], b[lag:]) if lag >= 0 else (a[-lag:], b[: len(b) + lag])
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.std(x[keep]) == 0 or np.std(y[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(x[keep], y[keep])[0, 1])


def av_sync(envelope: np.ndarray, opening: np.ndarray, fps: float) -> AVSync:
    """How the speech ``envelope`` (dB per frame) sits on the mouth ``opening`` (per frame, NaN where unknown) of
    the same frames at ``fps``: :class:`AVSync`."""
    envelope, opening = np.asarray(envelope, np.float64), np.asarray(opening, np.float64)
    if envelope.shape != opening.shape:
        raise ValueError(f"curves differ in length: {envelope.shape} vs {opening.shape}")
    if not np.isfinite(opening).any():
        return AVSync("no mouth")
    if np.percentile(envelope, 90) < SILENT_DB:
        return AVSync("silent")
    if len(envelope) < MIN_FRAMES:
        return AVSync("too short")
    sound, mouth = _rhythm(envelope, fps), _rhythm(opening, fps)
    curve = {lag: _r(mouth, sound, lag) for lag in range(-FAR_LAGS[1], FAR_LAGS[1] + 1)}
    near = {lag: r for lag, r in curve.items() if abs(lag) <= MAX_LAG and np.isfinite(r)}
    far = np.array([r for lag, r in curve.items() if FAR_LAGS[0] <= abs(lag) and np.isfinite(r)])
    if not near or len(far) < 10:
        return AVSync("no mouth")
    best = max(near, key=lambda lag: near[lag])
    r = near[best]
    z = (r - float(far.mean())) / max(float(far.std()), 1e-9)
    shown = {lag: v for lag, v in curve.items() if abs(lag) <= MAX_LAG}
    if r < MIN_R or z < MIN_Z or r <= float(far.max()):
        return AVSync("no speech", None, r, z, shown)
    # the mouth's change at t meets the sound's at t + best: the sound comes best frames after the picture
    return AVSync("speech", -best, r, z, shown)
