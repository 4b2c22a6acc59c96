"""The DubKernels nodes: which job kinds each runs, its image inputs and what they feed (no `nuke` import).

The knobs of a node are not listed here: ``scripts/make_gizmos.py`` builds them from
``dubkernels describe --json`` (every parameter of the node's kinds becomes a knob), and the
plugin reads the same description back from ``gizmos/dubkernels_describe.json``.

Every node but Analyze makes a face layer or a plate in its cache folder and tracks it (a guided
``analyze`` of its own output), so the next node gets frames and a track without asking.
"""
from __future__ import annotations

from dataclasses import dataclass


# The jobs a node's Process runs after its main job (``CACHE/jobs/NAME.json``): the track of its result, and
# PoseAlign's render of the actor with its track. A farm runs them with `dubkernels run` before Nuke records the node.
AFTER_PROCESS = {"pose_align": ("analyze_out", "actor_render", "analyze_actor_render")}
AFTER_DEFAULT = ("analyze_out",)


def after_process(kind: str) -> tuple[str, ...]:
    return AFTER_PROCESS.get(kind, AFTER_DEFAULT)


@dataclass(frozen=True)
class Feed:
    """One image input of a node: its Nuke input name and the job ports its frames and track fill."""

    name: str
    frames: str | None  # the job's sequence port ("actor", "face", ...); None: only the track is used
    track: str | None   # the job's track port ("actor_track", ...); None: no track needed
    help: str
    train_only: bool = False  # read by Train only (the actor plate a network learns from)


@dataclass(frozen=True)
class NodeSpec:
    """One node class (a generated gizmo)."""

    cls: str
    title: str
    help: str
    feeds: tuple[Feed, ...]
    process: str                  # the job kind Process runs
    train: str | None = None      # the job kind Train runs
    makes_layer: bool = True      # False: Analyze (the output is its input, unchanged)

    def feed(self, name: str) -> Feed:
        return {f.name: f for f in self.feeds}[name]

    @property
    def inputs(self) -> list[str]:
        return [f.name for f in self.feeds]


NODES: tuple[NodeSpec, ...] = (
    NodeSpec("DK_Analyze", "Analyze",
             "Track the face of a plate (dlib: 68 landmarks, box, head pose per frame). Fix landmarks by hand on "
             "the Landmarks tab. Every plate a DubKernels node reads comes through one.",
             (Feed("plate", "plate", None, "the plate to track (actor A0 or dubber D0)"),),
             "analyze", makes_layer=False),
    NodeSpec("DK_PoseAlign", "PoseAlign",
             "The dubber's face rendered in the actor's pose and skin tone (paper 3.1); also the actor's own "
             "render, which IdentitySwap trains on.",
             (Feed("actor", "actor", "actor_track", "actor plate A0, through an Analyze node"),
              Feed("dubber", "dubber", "dubber_track", "dubber plate D0, through an Analyze node")),
             "pose_align"),
    NodeSpec("DK_OwnMouth", "OwnMouth",
             "Quick look without training: the actor's own nearest mouths warped onto the dubber's mouth shapes.",
             (Feed("actor", "actor", "actor_track", "actor plate A0, through an Analyze node"),
              Feed("target", None, "target_track", "where the mouth must be: PoseAlign's render")),
             "own_mouth"),
    NodeSpec("DK_IdentitySwap", "IdentitySwap",
             "The input face with the actor's identity (paper 3.2). Train learns the shot's network first.",
             (Feed("face", "face", "face_track", "the face to swap: PoseAlign (pass 1) or pass 1's composite (pass 2)"),
              Feed("actor", "actor", "actor_track", "actor plate A0 (training), through an Analyze node", True)),
             "identity_swap", train="train"),
    NodeSpec("DK_LandmarkStabilize", "LandmarkStabilize",
             "Takes the jitter out of a face layer: 1-euro-filtered landmarks, one similarity per frame (paper 3.3.1).",
             (Feed("face", "face", "face_track", "the face layer, e.g. IdentitySwap's"),),
             "stabilize"),
    NodeSpec("DK_FaceSR", "FaceSR",
             "Sharpens the face layer with a FaceSR network fine-tuned on the actor (paper 3.3.2).",
             (Feed("face", "face", "face_track", "the face layer, e.g. LandmarkStabilize's"),
              Feed("actor", "actor", "actor_track", "actor plate A0 (training), through an Analyze node", True)),
             "face_sr", train="train_sr"),
    NodeSpec("DK_MouthComposite", "MouthComposite",
             "The face layer's mouth composited into the actor plate; every other pixel stays bit-identical.",
             (Feed("plate", "actor", "actor_track", "actor plate A0, through an Analyze node"),
              Feed("face", "face", "face_track", "the face layer whose mouth goes in")),
             "mouth_composite"),
)

NODE_CLASSES = {n.cls: n for n in NODES}
DEFAULT_DEVICE = "auto"


def node_spec(cls: str) -> NodeSpec:
    """The spec of node class ``cls``; KeyError names the classes when it is not a DubKernels node."""
    try:
        return NODE_CLASSES[cls]
    except KeyError:
        raise KeyError(f"{cls} is not a DubKernels node ({', '.join(NODE_CLASSES)})") from None
