"""The frames a supervisor should look at first, chosen from the report's per-frame curves."""
from __future__ import annotations

import math

from dubkernels.report.collect import ShotMetrics
from dubkernels.report.look import frames_to_look_at

NAN = math.nan


def _metrics(**curves: list[float]) -> ShotMetrics:
    return ShotMetrics(frames=[1001, 1002, 1003, 1004, 1005], curves=dict(curves))


def test_each_kind_of_frame_is_the_one_its_curve_points_at():
    metrics = _metrics(
        lmd_own=[0.01, 0.02, 0.09, 0.01, 0.01],  # worst sync at 1003
        jump_own=[NAN, 0.1, 0.0, 0.0, 2.5],  # the largest jump at 1005
        opening_dubber=[0.00, 0.30, 0.10, 0.02, 0.08],  # the dubber opens widest at 1002, closed at 1001 and 1004
        opening_own=[0.00, 0.10, 0.09, 0.20, 0.07],  # 1002 falls 0.2 short; at 1004 the lips stay open
        closure_dubber=[0.0, 1.0, 1.0, 0.0, 1.0])
    looks = {look.what: look for look in frames_to_look_at(metrics, "own", apart=1)}
    assert {k: v.frame for k, v in looks.items()} == {"worst sync": 1003, "largest jump": 1005,
                                                      "shape not reached": 1002, "closure missed": 1004}
    assert "0.090" in looks["worst sync"].why and "0.300" in looks["shape not reached"].why
    assert "637.5 grey levels" in looks["largest jump"].why  # network space 0-1, said in 8-bit levels
    assert looks["worst sync"].seconds(metrics, 25.0) == (2 + 0.5) / 25.0  # mid-frame in the review movie


def test_frames_are_apart_and_a_missing_or_empty_curve_chooses_nothing():
    metrics = _metrics(lmd_own=[0.0, 0.0, 0.5, 0.0, 0.0], jump_own=[NAN, 0.0, 3.0, 0.0, 0.0],
                       opening_dubber=[NAN] * 5, opening_own=[NAN] * 5)
    looks = frames_to_look_at(metrics, "own", apart=1)
    assert [(look.frame, look.what) for look in looks] == [(1003, "worst sync")]  # the jump at 1003 not again
    near = _metrics(lmd_own=[0.0, 0.0, 0.5, 0.0, 0.0], jump_own=[NAN, 0.0, 3.0, 2.0, 1.0])
    assert [look.frame for look in frames_to_look_at(near, "own", apart=2)] == [1003, 1005]  # 1004 is too near
    assert frames_to_look_at(_metrics(jump_own=[NAN, -0.1, -0.2, 0.0, 0.0]), "own") == []  # steadier than the plate
    assert frames_to_look_at(_metrics(), "pass2") == []
