"""The quality bar a delivered shot is held to, each candidate measured against it, and the delivery choice.

Candidates are the results that keep the actor's identity: the own mouth (composited with the plate's chin, and
with its own drawn chin), pass 1 and pass 2 (never the paste, which is the dubber's mouth). Each line of the bar passes or misses with its figure. The shot
delivers the best-ranked candidate unless the shot file pins one:

1. a candidate that breaks a *must* line (a pixel changed outside the mask, a frame undubbed, the dubber's
   identity, a blurred mouth) ranks below every candidate that keeps them, so a blur is never delivered
   while a sharp candidate exists;
2. then the more lines passed, the better;
3. then the smaller the summed shortfall (each line's miss over its own scale).

The sync lines ask for the paste's figure where the paste itself measures lower than the bar: that is as
far as dlib's re-detection of a pasted mouth follows the dubber render on that shot.

Example:
    >>> lines = evaluate(summary["own"], summary.get("paste"))
    >>> choice = choose(summary, pin="auto")      # Delivery(candidate="own", ...)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

# shot-file name of a candidate -> its result key in the report
CANDIDATES = {"own_mouth": "own", "own_chin": "own_chin", "pass1": "pass1", "pass2": "pass2"}
DELIVER_CHOICES = ("auto", *CANDIDATES)
NAMES = {v: k for k, v in CANDIDATES.items()}
TRAINING_FREE = ("own", "own_chin")  # the candidates a quick look measures and can deliver

SYNC_R = 0.85
SHAPE_R = 0.8
CLOSURE_PERCENT = 90.0
LIPS_LOST_SHARE = 0.1  # frames whose re-detected lips cross, beyond which closures are not measured
SHARPNESS = (0.85, 1.15)
FLICKER = 1.2
IDENTITY = 0.5


@dataclass(frozen=True)
class Line:
    """One line of the bar: its key, what it says, whether it is a must, and how a summary meets it."""

    key: str
    label: str
    must: bool
    check: Callable[[dict[str, Any], dict[str, Any] | None], tuple[bool, float, str]]  # -> passed, shortfall, text


def _num(summary: dict[str, Any], key: str) -> float:
    value = summary.get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else float("nan")


def _sync_floor(key: str, bar: float, paste: dict[str, Any] | None) -> tuple[float, str]:
    """The sync line's threshold: the bar, or the paste's own figure where the paste measures lower."""
    floor = _num(paste or {}, key)
    if math.isfinite(floor) and floor < bar:
        return floor, f" (the paste's {floor:.2f}: the bar's {bar} is beyond what re-detection follows here)"
    return bar, ""


def _at_least(key: str, bar: float, what: str) -> Callable[[dict[str, Any], dict[str, Any] | None],
                                                            tuple[bool, float, str]]:
    def check(s: dict[str, Any], paste: dict[str, Any] | None) -> tuple[bool, float, str]:
        value = _num(s, key)
        floor, why = _sync_floor(key, bar, paste)
        if not math.isfinite(value):
            return False, 1.0, f"{what} not measured"
        return value >= floor, max(0.0, floor - value), f"{what} {value:.2f}, needs >= {floor:.2f}{why}"
    return check


def _closure(s: dict[str, Any], _: dict[str, Any] | None) -> tuple[bool, float, str]:
    value, lost = _num(s, "closure_agreement"), _num(s, "lips_lost_share")
    if not math.isfinite(value):
        return False, 1.0, "closure agreement not measured"
    if math.isfinite(lost) and lost > LIPS_LOST_SHARE:
        return False, lost, (f"closures not measured: dlib lost the lips on {lost:.0%} of frames (more than "
                             f"{LIPS_LOST_SHARE:.0%}); judge them by eye")
    unread = f" ({lost:.0%} of frames unreadable, not counted)" if math.isfinite(lost) and lost > 0 else ""
    return (value >= CLOSURE_PERCENT, max(0.0, CLOSURE_PERCENT - value) / 100.0,
            f"closures honoured on {value:.0f}% of frames{unread}, needs >= {CLOSURE_PERCENT:.0f}%")


def _lag(s: dict[str, Any], _: dict[str, Any] | None) -> tuple[bool, float, str]:
    lag = s.get("best_lag")
    if not isinstance(lag, int):
        return False, 1.0, "best lag not measured"
    return lag == 0, abs(lag) / 5.0, f"best lag {lag:+d} frames, needs 0"


def _sharpness(s: dict[str, Any], _: dict[str, Any] | None) -> tuple[bool, float, str]:
    value = _num(s, "sharpness_vs_actor")
    if not math.isfinite(value):
        return False, 1.0, "sharpness not measured"
    low, high = SHARPNESS
    miss = max(0.0, low - value, value - high)
    return miss == 0.0, miss / low, f"mouth sharpness {value:.2f}x the plate's, needs {low}-{high}"


def _flicker(s: dict[str, Any], _: dict[str, Any] | None) -> tuple[bool, float, str]:
    value = _num(s, "flicker_vs_actor")
    if not math.isfinite(value):
        return False, 1.0, "flicker not measured"
    return value <= FLICKER, max(0.0, value - FLICKER) / FLICKER, f"flicker {value:.2f}x the plate's, needs <= {FLICKER}"


def _identity(s: dict[str, Any], _: dict[str, Any] | None) -> tuple[bool, float, str]:
    actor, dubber = _num(s, "identity_to_actor"), _num(s, "identity_to_dubber")
    if not (math.isfinite(actor) and math.isfinite(dubber)):
        return False, 1.0, "identity not measured"
    ok = actor < IDENTITY and actor < dubber
    return ok, max(0.0, actor - IDENTITY, actor - dubber), (f"identity {actor:.2f} from the actor, {dubber:.2f} from "
                                                            f"the dubber, needs < {IDENTITY} and nearer the actor")


def _zero(key: str, what: str) -> Callable[[dict[str, Any], dict[str, Any] | None], tuple[bool, float, str]]:
    def check(s: dict[str, Any], _: dict[str, Any] | None) -> tuple[bool, float, str]:
        value = s.get(key)
        if not isinstance(value, int):
            return False, 1.0, f"{what} not measured"
        return value == 0, float(value > 0), f"{value} {what}, needs 0"
    return check


BAR = (
    Line("changed_outside_mask", "0 pixels changed outside the mask", True,
         _zero("changed_outside_mask", "pixels changed outside the mask")),
    Line("frames_undubbed", "no frame undubbed", True, _zero("frames_undubbed", "frames undubbed")),
    Line("identity", "the actor's identity", True, _identity),
    Line("sharpness", "mouth as sharp as the plate", True, _sharpness),
    Line("r_vs_dubber", "lip-sync opening r", False, _at_least("r_vs_dubber", SYNC_R, "opening r")),
    Line("shape_r_vs_dubber", "mouth-shape r", False, _at_least("shape_r_vs_dubber", SHAPE_R, "mouth-shape r")),
    Line("closure_agreement", "closures honoured", False, _closure),
    Line("best_lag", "in step (best lag 0)", False, _lag),
    Line("flicker", "steady mouth box", False, _flicker),
)

MUSTS = tuple(line.key for line in BAR if line.must)


@dataclass
class Verdict:
    """A candidate against the bar: each line's pass and text, and its rank key."""

    result: str
    lines: dict[str, tuple[bool, str]] = field(default_factory=dict)
    musts_missed: int = 0
    missed: int = 0
    shortfall: float = 0.0

    @property
    def rank_key(self) -> tuple[int, int, float]:
        return self.musts_missed, self.missed, self.shortfall

    @property
    def passes_all(self) -> bool:
        return self.missed == 0

    def as_dict(self) -> dict[str, Any]:
        return {"candidate": NAMES.get(self.result, self.result), "passes_all": self.passes_all,
                "missed": self.missed, "musts_missed": self.musts_missed, "shortfall": round(self.shortfall, 4),
                "lines": {k: {"passed": ok, "text": text} for k, (ok, text) in self.lines.items()}}


def evaluate(summary: dict[str, Any], paste: dict[str, Any] | None = None, result: str = "") -> Verdict:
    """One candidate's summary against the bar (``paste``: the paste's summary, for the sync lines' floor)."""
    verdict = Verdict(result)
    for line in BAR:
        ok, shortfall, text = line.check(summary, paste)
        verdict.lines[line.key] = (ok, text)
        if not ok:
            verdict.missed += 1
            verdict.musts_missed += line.must
            verdict.shortfall += shortfall
    return verdict


@dataclass
class Delivery:
    """Which candidate the shot delivers, why, and every candidate's verdict, best first."""

    candidate: str  # result key: own, pass1 or pass2
    pinned: bool
    ranking: list[Verdict]

    @property
    def verdict(self) -> Verdict:
        return next(v for v in self.ranking if v.result == self.candidate)

    def as_dict(self) -> dict[str, Any]:
        return {"candidate": NAMES[self.candidate], "result": self.candidate, "pinned": self.pinned,
                "ranking": [v.as_dict() for v in self.ranking]}

    def lines(self) -> list[str]:
        """What was delivered and which lines of the bar it passes or misses, with figures."""
        how = "pinned by the shot file" if self.pinned else "ranked best against the bar"
        verdict = self.verdict
        head = (f"delivered: {NAMES[self.candidate]} ({how}); "
                + ("it meets every line of the bar" if verdict.passes_all
                   else f"it misses {verdict.missed} of {len(BAR)} lines of the bar"))
        return [head] + [f"  {'pass' if ok else 'MISS'}  {text}" for ok, text in verdict.lines.values()]


def choose(summary: dict[str, dict[str, Any]], pin: str = "auto") -> Delivery:
    """Rank the candidates the report measured and pick the delivered one (``pin``: auto or a candidate name)."""
    if pin not in DELIVER_CHOICES:
        raise ValueError(f"deliver = {pin!r}: choose one of {', '.join(DELIVER_CHOICES)}")
    present = [r for r in CANDIDATES.values() if r in summary]
    if not present:
        raise ValueError("the report measured no candidate to deliver (own mouth, own mouth with the chin, pass 1 "
                         "or pass 2)")
    ranking = sorted((evaluate(summary[r], summary.get("paste"), r) for r in present), key=lambda v: v.rank_key)
    if pin != "auto":
        if CANDIDATES[pin] not in summary:
            raise ValueError(f"deliver = {pin!r}, but the report has no {pin} result; run the dub to its end, or "
                             f"deliver one of: {', '.join(NAMES[r] for r in present)}")
        return Delivery(CANDIDATES[pin], True, ranking)
    return Delivery(ranking[0].result, False, ranking)
