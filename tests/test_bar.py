"""The quality bar and the delivery choice: lines on known figures, the ranking, the pin."""
from __future__ import annotations

import pytest

from dubkernels.report.bar import BAR, choose, evaluate


def _summary(**changes: float) -> dict:
    """A candidate that meets every line of the bar, with ``changes``."""
    good = {"changed_outside_mask": 0, "frames_undubbed": 0, "identity_to_actor": 0.2, "identity_to_dubber": 0.7,
            "sharpness_vs_actor": 1.0, "r_vs_dubber": 0.9, "shape_r_vs_dubber": 0.85, "closure_agreement": 95.0,
            "best_lag": 0, "flicker_vs_actor": 1.0}
    return {**good, **changes}


def test_a_candidate_meeting_every_line_passes_and_each_miss_is_named_with_its_figure():
    assert evaluate(_summary()).passes_all
    verdict = evaluate(_summary(sharpness_vs_actor=0.5, best_lag=2, closure_agreement=70.0))
    assert verdict.missed == 3 and verdict.musts_missed == 1
    assert verdict.lines["sharpness"] == (False, "mouth sharpness 0.50x the plate's, needs 0.85-1.15")
    assert verdict.lines["best_lag"] == (False, "best lag +2 frames, needs 0")
    assert not verdict.lines["closure_agreement"][0] and "70%" in verdict.lines["closure_agreement"][1]
    assert set(verdict.lines) == {line.key for line in BAR}
    assert not evaluate(_summary(identity_to_actor=0.6, identity_to_dubber=0.7)).lines["identity"][0]
    assert not evaluate(_summary(identity_to_actor=0.3, identity_to_dubber=0.25)).lines["identity"][0]
    assert not evaluate(_summary(sharpness_vs_actor=1.3)).lines["sharpness"][0]  # over-sharpened fails too


def test_the_sync_lines_ask_for_the_paste_figure_where_the_paste_measures_lower():
    paste = {"r_vs_dubber": 0.44, "shape_r_vs_dubber": 0.9}
    verdict = evaluate(_summary(r_vs_dubber=0.5, shape_r_vs_dubber=0.82), paste)
    assert verdict.lines["r_vs_dubber"][0] and "the paste's 0.44" in verdict.lines["r_vs_dubber"][1]
    assert verdict.lines["shape_r_vs_dubber"][0]  # the bar's 0.8, the paste being higher
    assert not evaluate(_summary(r_vs_dubber=0.4), paste).lines["r_vs_dubber"][0]


def test_a_blur_is_never_delivered_while_a_sharp_candidate_exists():
    blur = _summary(sharpness_vs_actor=0.4)  # misses only the must of sharpness
    sharp = _summary(r_vs_dubber=0.6, shape_r_vs_dubber=0.5, closure_agreement=60.0, best_lag=1, flicker_vs_actor=2)
    delivery = choose({"paste": _summary(), "own": sharp, "pass1": blur, "pass2": blur})
    assert delivery.candidate == "own" and not delivery.pinned
    assert [v.result for v in delivery.ranking][0] == "own" and "paste" not in [v.result for v in delivery.ranking]


def test_more_lines_passed_rank_higher_and_then_the_smaller_shortfall():
    one_miss, two_misses = _summary(r_vs_dubber=0.8), _summary(r_vs_dubber=0.84, flicker_vs_actor=1.21)
    assert choose({"own": two_misses, "pass2": one_miss}).candidate == "pass2"
    near, far = _summary(r_vs_dubber=0.84), _summary(r_vs_dubber=0.5)
    assert choose({"own": far, "pass1": near}).candidate == "pass1"


def test_the_pin_wins_and_a_pin_without_its_result_is_refused():
    summary = {"own": _summary(), "pass1": _summary(sharpness_vs_actor=0.3)}
    delivery = choose(summary, "pass1")
    assert delivery.candidate == "pass1" and delivery.pinned
    assert delivery.lines()[0].startswith("delivered: pass1 (pinned by the shot file); it misses 1 of")
    assert any(line.startswith("  MISS  mouth sharpness 0.30x") for line in delivery.lines())
    with pytest.raises(ValueError, match="no pass2 result"):
        choose(summary, "pass2")
    with pytest.raises(ValueError, match="choose one of auto, own_mouth, own_chin, pass1, pass2"):
        choose(summary, "paste")


def test_the_own_mouth_with_its_chin_is_delivered_only_where_it_measures_better():
    missing_closures = _summary(closure_agreement=81.0)
    delivery = choose({"own": missing_closures, "own_chin": _summary(closure_agreement=95.0)})
    assert delivery.candidate == "own_chin" and delivery.lines()[0].startswith("delivered: own_chin (ranked best")
    assert choose({"own": _summary(), "own_chin": _summary()}).candidate == "own"  # a tie keeps the plate's chin


def test_closures_are_not_measured_where_the_re_detection_lost_the_lips_on_many_frames():
    some = evaluate(_summary(lips_lost_share=0.04)).lines["closure_agreement"]
    assert some[0] and "4% of frames unreadable, not counted" in some[1]
    many = evaluate(_summary(lips_lost_share=0.25)).lines["closure_agreement"]
    assert not many[0] and "lost the lips on 25% of frames" in many[1]
