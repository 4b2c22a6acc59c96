"""The knobs of each DubKernels node, built from the engine's job-kind description (no `nuke` import).

Every parameter of the kinds a node runs becomes a knob of the same name: bool -> Boolean,
int -> Int, float -> Double (slider over its range), text with choices -> Enumeration, other
text and point lists -> String. Around them every node has the same controls: cache folder,
frame range, device, the buttons, an Info tab and hidden state knobs the internal Read and
Switch follow. ``scripts/make_gizmos.py`` writes them into the gizmos; the plugin reads a
node's job parameters back through :func:`param_knobs`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dubkernels_nuke.nkscript import UserKnob
from dubkernels_nuke.nodes import DEFAULT_DEVICE, NodeSpec

TAB, STRING, FILE, INT, ENUM, BOOL, DOUBLE, XY, BUTTON, TEXT = 20, 1, 2, 3, 4, 6, 7, 12, 22, 26
FRAME_RANGES = ("input", "global", "custom")
NODE_LEVEL = ("device",)  # parameters shared by a node's kinds: one knob on the main tab
SLIDER_CAP = 1000.0       # a Double's slider stops here even when the engine takes more
LANDMARK_GROUPS = (("jaw", range(0, 17)), ("eye", range(36, 48)), ("mouth", range(48, 68)))
BUTTON_SCRIPT = "import dubkernels_nuke.buttons as dk; dk.press(nuke.thisNode(), {action!r})"


@dataclass(frozen=True)
class Knob:
    """A user knob, the value written after it (None: Nuke's empty default) and the param it carries."""

    user: UserKnob
    value: Any = None
    param: dict[str, Any] | None = None  # the describe entry of the parameter, when it is one

    @property
    def name(self) -> str:
        return self.user.name


def landmark_points() -> list[tuple[str, int]]:
    """(group, index) of the 68-point landmarks shown on the Landmarks tab: jaw, eyes, mouth."""
    return [(group, i) for group, indices in LANDMARK_GROUPS for i in indices]


def param_knob(param: dict[str, Any]) -> Knob:
    """The knob of one job parameter (a `dubkernels describe --json` entry)."""
    name, kind, default = param["name"], param["type"], param["default"]
    label = name.replace("_", " ")
    tip = param.get("help", "")
    if kind == "bool":
        return Knob(UserKnob(BOOL, name, label, tip, ["+STARTLINE"]), bool(default), param)
    if kind == "int":
        return Knob(UserKnob(INT, name, label, tip), int(default), param)
    if kind == "float":
        low, high = param.get("min", 0.0), min(param.get("max", 1.0), SLIDER_CAP)
        return Knob(UserKnob(DOUBLE, name, label, tip, range=(low, high)), float(default), param)
    if kind == "str" and param.get("choices"):
        return Knob(UserKnob(ENUM, name, label, tip, items=list(param["choices"])), default, param)
    if kind == "tuple":
        tip += f" ({param.get('nargs', '')} numbers separated by spaces; empty: none)".replace("( ", "(")
        return Knob(UserKnob(STRING, name, label, tip), " ".join(str(v) for v in default), param)
    if kind == "str":
        return Knob(UserKnob(STRING, name, label, tip), default, param)
    raise ValueError(f"parameter {name}: type {kind} has no knob")


def _button(name: str, label: str, tip: str, startline: bool = False) -> Knob:
    flags = ["+STARTLINE"] if startline else []
    return Knob(UserKnob(BUTTON, name, label, tip, flags, text=BUTTON_SCRIPT.format(action=name)))


def _params(kind: dict[str, Any], skip: tuple[str, ...] = NODE_LEVEL) -> list[Knob]:
    return [param_knob(p) for p in kind["params"] if p["name"] not in skip]


def node_knobs(spec: NodeSpec, kinds: dict[str, dict[str, Any]]) -> list[Knob]:
    """Every user knob of a node, in panel order; ``kinds`` maps kind names to their describe entries."""
    process = kinds[spec.process]
    train = kinds[spec.train] if spec.train else None
    has_device = any(p["name"] == "device" for k in (process, train) if k for p in k["params"])
    knobs = [Knob(UserKnob(TAB, "dubkernels", spec.title)),
             Knob(UserKnob(TEXT, "about", "", text=spec.help, flags=["+STARTLINE"])),
             *_params(process),
             Knob(UserKnob(TEXT, "div_cache", "", flags=["+STARTLINE"])),
             Knob(UserKnob(FILE, "cache", "cache folder", "where this node's jobs, frames and track go (empty: "
                                                        "dubkernels_cache/NODE beside the saved script)")),
             Knob(UserKnob(ENUM, "frame_range", "frame range", "input: the input's frames; global: the project's "
                           "frame range; custom: first to last", items=list(FRAME_RANGES)), "input"),
             Knob(UserKnob(INT, "first", "first", "first frame (custom range)", ["-STARTLINE"]), 1001),
             Knob(UserKnob(INT, "last", "last", "last frame (custom range)", ["-STARTLINE"]), 1100)]
    if has_device:
        knobs.append(Knob(UserKnob(STRING, "device", "device", "torch device: auto (CUDA if present, else CPU), "
                                                             "cpu, cuda, cuda:1...", ["+STARTLINE"]), DEFAULT_DEVICE))
    knobs += [_button("process", "Analyze" if spec.process == "analyze" else "Process",
                      "export the inputs, run the job with dubkernels, then show its result", startline=True)]
    if train:
        knobs.append(_button("train", "Train", "train this shot's network (on the Train tab's settings)"))
    knobs += [_button("open_report", "Open report", "a contact sheet of the cached result with its landmarks"),
              _button("reveal_cache", "Reveal cache", "open the cache folder in the file browser")]
    if train:
        knobs += [Knob(UserKnob(TAB, "train_tab", "Train")), *_params(train),
                  Knob(UserKnob(FILE, "init", "start from", "a checkpoint to start from (empty: the IdentitySwap "
                                                            "upstream's network, if any, else from scratch)"))]
        if spec.train == "train":
            knobs.append(Knob(UserKnob(STRING, "init_from", "start from node",
                                       "start from this other IdentitySwap node's network (pass 2 from pass 1's); "
                                       "empty: the IdentitySwap up the face input, if any")))
        if spec.train == "train_sr":
            knobs.append(Knob(UserKnob(STRING, "training_from", "training from",
                                       "use the training of this other FaceSR node (pass 2 uses pass 1's); "
                                       "empty: this node's own")))
    if spec.process == "analyze":
        knobs += landmark_knobs()
    if spec.process == "own_mouth":
        knobs += override_knobs()
    knobs += [Knob(UserKnob(TAB, "info_tab", "Info")),
              Knob(UserKnob(TEXT, "info", "", text="not processed", flags=["+STARTLINE"])),
              Knob(UserKnob(BOOL, "dk_processed", "", flags=["+INVISIBLE"]), False),
              Knob(UserKnob(INT, "dk_first", "", flags=["+INVISIBLE"]), 1),
              Knob(UserKnob(INT, "dk_last", "", flags=["+INVISIBLE"]), 1),
              Knob(UserKnob(STRING, "dk_cache_owner", "", flags=["+INVISIBLE"]), "")]
    names = [k.name for k in knobs]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ValueError(f"{spec.cls}: knob names used twice: {doubled}")
    return knobs


def override_knobs() -> list[Knob]:
    """OwnMouth's Overrides tab: knobs to key over the frames they hold for (the plugin writes them as overrides)."""
    return [Knob(UserKnob(TAB, "overrides_tab", "Overrides")),
            Knob(UserKnob(TEXT, "overrides_about", "", text="Key these over the frames they hold for; Process "
                          "writes them after the overrides typed on the first tab.", flags=["+STARTLINE"])),
            Knob(UserKnob(BOOL, "force_close", "force close", "keyed on: the lips meet on those frames",
                          ["+STARTLINE"]), False),
            Knob(UserKnob(DOUBLE, "opening_scale", "opening scale", "keyed: the lips' opening scaled on those frames "
                          "(1: as chosen)", range=(0.0, 3.0)), 1.0),
            Knob(UserKnob(INT, "force_source", "force source", "keyed: the actor frame shown on each frame (0: the "
                          "selection's)"), 0)]


def landmark_knobs() -> list[Knob]:
    """The Landmarks tab: flagged frames, stepping and saving buttons, one XY knob per shown point."""
    knobs = [Knob(UserKnob(TAB, "landmarks", "Landmarks")),
             Knob(UserKnob(TEXT, "lm_flagged", "flagged", text="analyze first", flags=["+STARTLINE"])),
             _button("lm_prev", "< flagged", "go to the previous flagged frame and show its landmarks", True),
             _button("lm_next", "flagged >", "go to the next flagged frame and show its landmarks"),
             _button("lm_key", "Key this frame", "show this frame's landmarks as keys, to drag in the viewer"),
             _button("lm_save", "Save fixes", "write the keyed frames to the overrides file; Analyze again merges "
                                              "them")]
    for group, index in landmark_points():
        knobs.append(Knob(UserKnob(XY, f"lm_{index:02d}", f"{group} {index}", "landmark in Nuke's pixel "
                                   "coordinates (origin bottom left)", ["+STARTLINE"])))
    return knobs


def param_knobs(spec: NodeSpec, kinds: dict[str, dict[str, Any]], kind: str) -> list[Knob]:
    """The knobs carrying job kind ``kind``'s parameters on a node of ``spec`` (device included)."""
    names = {p["name"] for p in kinds[kind]["params"]}
    return [k for k in node_knobs(spec, kinds) if k.param is not None and k.name in names] + \
        [Knob(UserKnob(STRING, "device", "device"), DEFAULT_DEVICE, p) for p in kinds[kind]["params"]
         if p["name"] == "device"]
