"""The Landmarks tab of an Analyze node: step through flagged frames, drag points, save them as overrides.

The tab's XY knobs are the jaw, eye and mouth points of the 68-point landmarks. "Key this
frame" keys them at the current frame from the track; the user drags them in the viewer
(Nuke keys the frame); "Save fixes" writes every keyed frame to the node's overrides file
(``dubkernels-overrides``: all 68 points, the keyed ones replaced), which the next Analyze merges.
Tracks count pixels from the top left, Nuke from the bottom left: y flips, and pixel centres
sit at +0.5.
"""
from __future__ import annotations

import json
from typing import Any, cast

import nuke

from dubkernels_nuke.dknode import DKNode, PluginError
from dubkernels_nuke.frames import range_text
from dubkernels_nuke.knobs import landmark_points
from dubkernels_nuke.paths import write_atomically
from dubkernels_nuke.state import refresh

LOW_CONFIDENCE = 0.3  # a HOG detection scoring below this is listed for checking
OVERRIDES_FORMAT = "dubkernels-overrides"


def read_track(dk: DKNode) -> dict[str, Any]:
    path = dk.layout.track
    if not path.is_file():
        raise PluginError(f"{dk.name}: no track yet; press Analyze first.")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def flagged(track: dict[str, Any]) -> dict[str, list[int]]:
    """Frames to check, by reason: missing, interpolated, guided, repaired, low confidence."""
    out: dict[str, list[int]] = {"missing": [], "interpolated": [], "guided": [], "repaired": [], "low confidence": []}
    for record in track["records"]:
        flag = record["flag"]
        if flag in out:
            out[flag].append(record["frame"])
        elif flag == "detected" and record["confidence"] < LOW_CONFIDENCE:
            out["low confidence"].append(record["frame"])
    return {k: v for k, v in out.items() if v}


def refresh_flagged(dk: DKNode) -> None:
    """Show the flagged frames on the Landmarks tab."""
    groups = flagged(read_track(dk))
    text = "; ".join(f"{reason}: {range_text(frames)}" for reason, frames in groups.items())
    dk.node["lm_flagged"].setValue(text or "no frame flagged")


def to_nuke(point: list[float], height: int) -> tuple[float, float]:
    return point[0] + 0.5, height - point[1] - 0.5


def from_nuke(x: float, y: float, height: int) -> list[float]:
    return [round(x - 0.5, 3), round(height - y - 0.5, 3)]


def _landmarks_at(track: dict[str, Any], frame: int) -> list[list[float]]:
    """The frame's landmarks, else those of the nearest frame that has some."""
    records = [r for r in track["records"] if r.get("landmarks")]
    if not records:
        raise PluginError("the track has no landmarks on any frame; add them by hand in an overrides file.")
    nearest = min(records, key=lambda r: abs(r["frame"] - frame))
    return [list(p) for p in nearest["landmarks"]]


def key_frame(dk: DKNode, frame: int) -> None:
    """Key every shown point at ``frame`` from the track."""
    track = read_track(dk)
    height = int(track["source"]["height"])
    points = _landmarks_at(track, frame)
    for _, index in landmark_points():
        knob = dk.node[f"lm_{index:02d}"]
        knob.setAnimated()
        x, y = to_nuke(points[index], height)
        knob.setValueAt(x, frame, 0)
        knob.setValueAt(y, frame, 1)


def keyed_frames(dk: DKNode) -> list[int]:
    """Frames where any shown point has a key."""
    frames: set[int] = set()
    for _, index in landmark_points():
        knob = cast(nuke.XY_Knob, dk.node[f"lm_{index:02d}"])
        if knob.isAnimated():
            for channel in (0, 1):
                frames.update(int(key.x) for key in knob.animation(channel).keys())
    return sorted(frames)


def save_fixes(dk: DKNode) -> list[int]:
    """Write the keyed frames into the overrides file (merged with fixes saved before); returns them."""
    track = read_track(dk)
    height = int(track["source"]["height"])
    frames = keyed_frames(dk)
    if not frames:
        raise PluginError(f"{dk.name}: no keyed landmarks to save; press 'Key this frame' and drag the points.")
    path = dk.layout.overrides
    saved: dict[str, Any] = {}
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8")).get("frames", {})
    for frame in frames:
        points = _landmarks_at(track, frame)
        for _, index in landmark_points():
            knob = dk.node[f"lm_{index:02d}"]
            points[index] = from_nuke(knob.getValueAt(frame, 0), knob.getValueAt(frame, 1), height)
        saved[str(frame)] = {"landmarks": points}
    data = {"format": OVERRIDES_FORMAT, "version": 1, "source": track["source"]["pattern"],
            "frames": dict(sorted(saved.items(), key=lambda kv: int(kv[0])))}
    write_atomically(path, json.dumps(data) + "\n")
    return frames


def step(dk: DKNode, direction: int) -> int:
    """Go to the next (+1) or previous (-1) flagged frame, key its points; returns the frame."""
    frames = sorted({f for group in flagged(read_track(dk)).values() for f in group})
    now = nuke.frame()
    ahead = [f for f in frames if (f - now) * direction > 0]
    if not ahead:
        raise PluginError(f"{dk.name}: no flagged frame {'after' if direction > 0 else 'before'} {now}.")
    target = min(ahead, key=lambda f: abs(f - now))
    nuke.frame(target)
    if target not in keyed_frames(dk):  # a frame already keyed keeps the user's drags
        key_frame(dk, target)
    return target


def press(node: nuke.Node, action: str) -> None:
    """The Landmarks tab's buttons."""
    dk = DKNode(node)
    if action == "lm_key":
        key_frame(dk, nuke.frame())
    elif action in ("lm_next", "lm_prev"):
        step(dk, 1 if action == "lm_next" else -1)
    elif action == "lm_save":
        frames = save_fixes(dk)
        refresh(node)
        message = (f"{dk.name}: saved landmark fixes on frames {range_text(frames)} to {dk.layout.overrides}; "
                   "press Analyze to merge them into the track.")
        if nuke.GUI:
            nuke.message(message)
        else:
            print(message)
    else:
        raise PluginError(f"{node.name()}: unknown button {action}")
