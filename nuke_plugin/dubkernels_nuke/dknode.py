"""A DubKernels node in a Nuke script: its cache, where its inputs' frames and tracks come from, its jobs.

Each image input of a node is either another DubKernels node (through Dots and Switches), whose cached
result and track are read in place, or anything else, which the node exports through its
internal Write and tracks itself. The jobs a node runs are the ones `dubkernels dub` runs for
the same step (same kinds, inputs and parameters), so the two give the same frames.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import nuke

from dubkernels_nuke.describe import kinds
from dubkernels_nuke.knobs import param_knobs
from dubkernels_nuke.nodes import NODE_CLASSES, NodeSpec, node_spec
from dubkernels_nuke.overrides import OVERRIDE_KNOBS, joined, override_text
from dubkernels_nuke.paths import CACHE_DEFAULT_FOLDER, CacheLayout, input_export_name

JOB_FORMAT, JOB_VERSION = "dubkernels-job", 1
GUIDED = {"passthrough_missing": True, "guide_frames_only": True}  # how generated faces are tracked


class PluginError(RuntimeError):
    """Something the compositor can fix (a missing input, an unprocessed upstream node): the message says what."""


def is_dubkernels(node: nuke.Node | None) -> bool:
    return node is not None and node.Class() in NODE_CLASSES


def upstream(node: nuke.Node, index: int) -> nuke.Node | None:
    """The node feeding input ``index``, looking through Dots and through a Switch to its chosen input (the
    template's Deliver switch picks the candidate that is delivered)."""
    source = node.input(index)
    while source is not None and source.Class() in ("Dot", "Switch"):
        chosen = 0 if source.Class() == "Dot" else int(source["which"].value())
        source = source.input(min(max(chosen, 0), max(source.inputs() - 1, 0)))
    return source


@dataclass
class Source:
    """Where an input's frames and track are: another node's cache, or this node's export of the input."""

    frames: str
    track: str
    node: nuke.Node | None = None   # the DubKernels node whose result it is; None: exported here
    feed: str = ""                  # the input it is, when exported here
    upstream: nuke.Node | None = None


def job(kind: str, inputs: dict[str, Any], outputs: dict[str, Any], params: dict[str, Any],
        frames: str | None = None) -> dict[str, Any]:
    """A job spec in the engine's JSON form."""
    return {"format": JOB_FORMAT, "version": JOB_VERSION, "stage": kind,
            "inputs": {k: str(v) for k, v in inputs.items()}, "outputs": {k: str(v) for k, v in outputs.items()},
            "frames": frames, "ocio": None, "params": params}


@dataclass
class Plan:
    """What a button does: inputs to export (feed, Write name, pattern, frames) and jobs to run, in order."""

    exports: list[tuple[str, str, str, tuple[int, int]]] = field(default_factory=list)
    jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class DKNode:
    """One DubKernels node of the script."""

    def __init__(self, node: nuke.Node):
        self.node = node
        self.spec: NodeSpec = node_spec(node.Class())

    @property
    def name(self) -> str:
        return self.node.name()

    def value(self, knob: str) -> Any:
        return self.node[knob].value()

    # ---------------------------------------------------------------- cache and frames

    def path_value(self, knob: str) -> str:
        """A file knob as Nuke evaluates a path: its TCL expanded, then the facility's filename filters (path
        mapping)."""
        text = str(cast(nuke.File_Knob, self.node[knob]).getEvaluatedValue() or "").strip()
        return str(nuke.filenameFilter(text)) if text else ""

    def cache_folder(self, create_default: bool = True) -> Path:
        """The cache knob (absolute, evaluated); when empty, or when this node is a copy of another node whose
        cache it carries, dubkernels_cache/NODE beside the saved script, set on the knob."""
        text = self.path_value("cache")
        if text and not self.copied_cache():
            folder = Path(text).expanduser()
            if not folder.is_absolute():
                raise PluginError(f"{self.name}: cache folder '{text}' is relative; give an absolute path (a farm "
                                  "worker resolves relative paths elsewhere).")
            if create_default and self.value("dk_cache_owner") != self.node.fullName():
                self.node["dk_cache_owner"].setValue(self.node.fullName())  # renamed: the cache follows it
            return folder
        script = nuke.root().name()
        if not script or script == "Root":
            raise PluginError(f"{self.name}: save the script first, or set its cache folder (the default is "
                              f"{CACHE_DEFAULT_FOLDER}/{self.name} beside the script).")
        folder = Path(script).resolve().parent / CACHE_DEFAULT_FOLDER / self.name
        if create_default:
            self.node["cache"].setValue(str(folder))
            self.node["dk_cache_owner"].setValue(self.node.fullName())
        return folder

    def copied_cache(self) -> bool:
        """Whether this node is a copy (duplicate, copy and paste) of a node that still holds the same cache: the
        copy must not write over the original's frames and state."""
        owner = str(self.value("dk_cache_owner") or "")
        if not owner or owner == self.node.fullName():
            return False
        original = nuke.toNode(owner)
        return (original is not None and original is not self.node and is_dubkernels(original)
                and DKNode(original).path_value("cache") == self.path_value("cache"))

    def claim_cache(self) -> None:
        """A copied node (see :meth:`copied_cache`) gets a cache of its own and shows nothing processed yet."""
        if self.copied_cache():
            self.node["cache"].setValue("")
            self.node["dk_processed"].setValue(False)
            self.cache_folder()

    @property
    def layout(self) -> CacheLayout:
        return CacheLayout(self.cache_folder())

    def frames_arg(self) -> str | None:
        """The job's frame range: None for the input's whole range, else first-last."""
        mode = self.value("frame_range")
        if mode == "global":
            root = nuke.root()
            return f"{int(root['first_frame'].value())}-{int(root['last_frame'].value())}"
        if mode == "custom":
            first, last = int(self.value("first")), int(self.value("last"))
            if last < first:
                raise PluginError(f"{self.name}: custom frame range {first}-{last} ends before it starts.")
            return f"{first}-{last}"
        return None

    def result(self) -> Source:
        """Where this node's result is, for the nodes downstream."""
        layout = self.layout
        if not self.spec.makes_layer:
            return Source(str(layout.export("plate")), str(layout.track), self.node)
        return Source(str(layout.out), str(layout.out_track), self.node)

    # ---------------------------------------------------------------- inputs

    def input_node(self, feed: str) -> nuke.Node | None:
        return upstream(self.node, self.spec.inputs.index(feed))

    def source(self, feed: str) -> Source:
        """Where input ``feed``'s frames and track come from; a clear error when it cannot be used yet."""
        up = self.input_node(feed)
        if up is None:
            raise PluginError(f"{self.name}: input '{feed}' is not connected; connect {self.spec.feed(feed).help}.")
        if not is_dubkernels(up):
            return self.export_source(feed)
        other = DKNode(up)
        result = other.result()
        if not Path(result.track).is_file():
            raise PluginError(f"{self.name}: its input '{feed}' comes from {other.name}, which has no result yet; "
                              f"press {'Analyze' if not other.spec.makes_layer else 'Process'} on {other.name} first.")
        return result

    def export_source(self, feed: str) -> Source:
        """Input ``feed`` exported by this node's internal Write (and tracked by this node)."""
        up = self.input_node(feed)
        if up is None:
            raise PluginError(f"{self.name}: input '{feed}' is not connected; connect {self.spec.feed(feed).help}.")
        layout = self.layout
        return Source(str(layout.export(feed)), str(layout.export_track(feed)), None, feed, up)

    def face_chain(self) -> list["DKNode"]:
        """The DubKernels nodes up the 'face' inputs (IdentitySwap -> Stabilize -> FaceSR -> Composite...)."""
        chain, current = [], self
        while "face" in current.spec.inputs:
            up = current.input_node("face")
            if not is_dubkernels(up):
                break
            assert up is not None
            current = DKNode(up)
            chain.append(current)
        return chain

    def upstream_swap(self) -> "DKNode | None":
        """The nearest IdentitySwap up the face inputs (pass 2 starts from pass 1's network)."""
        return next((n for n in self.face_chain() if n.spec.cls == "DK_IdentitySwap"), None)

    def init_source(self) -> "DKNode | None":
        """The IdentitySwap whose network this one's training starts from: the init_from knob's node, else the
        nearest up the face input, else none (from scratch)."""
        name = str(self.value("init_from") or "").strip()
        if not name:
            return self.upstream_swap()
        other = nuke.toNode(name)
        if other is None or other.Class() != "DK_IdentitySwap" or other is self.node:
            raise PluginError(f"{self.name}: start from '{name}', but there is no other IdentitySwap node of that "
                              "name; name pass 1's IdentitySwap, or leave it empty.")
        return DKNode(other)

    # ---------------------------------------------------------------- jobs

    def params(self, kind: str) -> dict[str, Any]:
        """The job parameters of ``kind`` from this node's knobs."""
        values: dict[str, Any] = {}
        for knob in param_knobs(self.spec, kinds(), kind):
            assert knob.param is not None
            raw, kind_name = self.node[knob.name].value(), knob.param["type"]
            if kind_name == "bool":
                values[knob.name] = bool(raw)
            elif kind_name == "int":
                values[knob.name] = int(raw)
            elif kind_name == "float":
                values[knob.name] = float(raw)
            elif kind_name == "tuple":
                values[knob.name] = [float(v) for v in str(raw or "").replace(",", " ").split()]
            else:
                values[knob.name] = str(raw)
        if kind == "own_mouth":
            animated = override_text(*(self._keyed(name, default) for name, default in OVERRIDE_KNOBS))
            values["overrides"] = joined(values.get("overrides", ""), animated)
        return values

    def _keyed(self, name: str, default: float) -> dict[int, float]:
        """A keyed knob's value on every frame from its first key to its last (nothing when it is at its default)."""
        knob = cast(nuke.Array_Knob, self.node[name])  # Boolean, Double and Int knobs all are
        if not knob.isAnimated():
            if float(knob.value()) != default:
                raise PluginError(f"{self.name}: {name} is set but not keyed; key it over the frames it holds for, "
                                  "or type the frames in 'overrides' (e.g. 1040-1052: close).")
            return {}
        keys = [int(round(key.x)) for key in knob.animation(0).keys()]
        return {f: float(knob.getValueAt(f)) for f in range(min(keys), max(keys) + 1)} if keys else {}

    def _export(self, plan: Plan, source: Source, frames: str | None, track: bool,
                guide: str | None = None) -> None:
        """Export an input that is not a DubKernels node, and track it when the job needs its track."""
        assert source.upstream is not None
        if frames:
            first, _, last = frames.partition("-")
            span = (int(first), int(last or first))
        else:
            span = (source.upstream.firstFrame(), source.upstream.lastFrame())
        plan.exports.append((source.feed, input_export_name(source.feed), source.frames, span))
        if track:
            inputs = {"plate": source.frames}
            if guide:
                inputs["guide"] = guide
            params = self.params("analyze") if self.spec.process == "analyze" else (dict(GUIDED) if guide else {})
            if self.spec.process == "analyze" and self.layout.overrides.is_file():
                inputs["overrides"] = str(self.layout.overrides)
            out = self.layout.track if self.spec.process == "analyze" else source.track
            plan.jobs.append((f"analyze_{source.feed}", job("analyze", inputs, {"out": out}, params, frames)))

    def _sources(self, plan: Plan, frames: str | None) -> dict[str, Source]:
        sources = {}
        analyze = self.spec.process == "analyze"
        for feed in (f for f in self.spec.feeds if not f.train_only):
            source = self.export_source(feed.name) if analyze else self.source(feed.name)
            if source.node is None:
                guide_node = None if analyze else self._nearest_dubkernels(source.upstream)
                guide = DKNode(guide_node).result().track if guide_node is not None else None
                self._export(plan, source, frames, analyze or feed.track is not None, guide)
            sources[feed.name] = source
        return sources

    def _nearest_dubkernels(self, node: nuke.Node | None) -> nuke.Node | None:
        """The first DubKernels node up input 0 of ``node`` (a graded layer is tracked with its landmarks as guide)."""
        while node is not None and not is_dubkernels(node):
            node = node.input(0)
        return node

    def _ports(self, sources: dict[str, Source]) -> dict[str, str]:
        ports = {}
        for feed in (f for f in self.spec.feeds if f.name in sources):
            if feed.frames:
                ports[feed.frames] = sources[feed.name].frames
            if feed.track:
                ports[feed.track] = sources[feed.name].track
        return ports

    def process_plan(self) -> Plan:
        """Exports and jobs of Process: the node's job, then the track of its result (guided)."""
        plan, frames = Plan(), self.frames_arg()
        sources = self._sources(plan, frames)
        if not self.spec.makes_layer:
            return plan  # Analyze: its job is the export's analysis
        layout, kind = self.layout, self.spec.process
        inputs, outputs = self._ports(sources), {"out": layout.out}
        params = self.params(kind)
        out_kind = kinds()[kind]
        if any(p["name"] == "landmarks" for p in out_kind["outputs"]):
            outputs["landmarks"] = layout.out_landmarks
            guide = str(layout.out_landmarks)
        else:
            guide = sources["face"].track
        if kind == "mouth_composite":
            outputs["mask"] = layout.mask
        if kind == "identity_swap":
            inputs["checkpoint"] = str(self.swap_checkpoint())
        if kind == "face_sr":
            inputs["checkpoint"] = str(self.sr_checkpoint())
        plan.jobs.append(("process", job(kind, inputs, outputs, params, frames)))
        plan.jobs.append(("analyze_out", job("analyze", {"plate": layout.out, "guide": guide},
                                             {"out": layout.out_track}, dict(GUIDED), frames)))
        if kind == "pose_align":
            actor = sources["actor"]
            render = dict(params, colour_transfer=False, dubber_offset=0)
            plan.jobs.append(("actor_render", job(kind, {"actor": actor.frames, "actor_track": actor.track,
                                                         "dubber": actor.frames, "dubber_track": actor.track},
                                                  {"out": layout.actor_render,
                                                   "landmarks": layout.actor_render_landmarks}, render, frames)))
            plan.jobs.append(("analyze_actor_render", job("analyze", {"plate": layout.actor_render,
                                                                      "guide": layout.actor_render_landmarks},
                                                          {"out": layout.actor_render_track}, dict(GUIDED), frames)))
        return plan

    def swap_checkpoint(self) -> Path:
        path = self.layout.checkpoint
        if not path.is_file():
            raise PluginError(f"{self.name}: no trained network in {path.parent}; press Train first.")
        return path

    def sr_source(self) -> "DKNode":
        """The FaceSR node whose training this one uses (the training_from knob, else itself)."""
        name = str(self.value("training_from") or "").strip()
        if not name:
            return self
        other = nuke.toNode(name)
        if other is None or other.Class() != "DK_FaceSR":
            raise PluginError(f"{self.name}: training from '{name}', but there is no FaceSR node of that name.")
        return DKNode(other)

    def sr_checkpoint(self) -> Path:
        owner = self.sr_source()
        path = owner.layout.checkpoint
        if not path.is_file():
            raise PluginError(f"{self.name}: no trained FaceSR in {path.parent}; press Train on {owner.name} first.")
        return path

    def train_plan(self) -> Plan:
        """The training job: IdentitySwap's Y-network or FaceSR's fine-tune, with the same inputs as `dub`'s."""
        if not self.spec.train:
            raise PluginError(f"{self.name}: {self.spec.title} does not train.")
        plan = Plan()
        actor = self.source("actor")
        if actor.node is None:
            self._export(plan, actor, None, True)
        inputs: dict[str, str] = {"actor": actor.frames, "actor_track": actor.track}
        params = self.params(self.spec.train)
        init = self.path_value("init")
        if self.spec.train == "train":
            face = self.source("face")
            if face.node is None:
                raise PluginError(f"{self.name}: train on a DubKernels face (PoseAlign's, or pass 1's composite); "
                                  "its input 'face' is not one.")
            face_node = DKNode(face.node)
            if face_node.spec.cls == "DK_PoseAlign":  # pass 1: the dubber take, and both renders
                dubber = face_node.source("dubber")
                layout = face_node.layout
                inputs.update(dubber=dubber.frames, dubber_track=dubber.track, dubber_render=face.frames,
                              dubber_render_track=face.track, actor_render=str(layout.actor_render),
                              actor_render_track=str(layout.actor_render_track))
            else:
                inputs.update(dubber=face.frames, dubber_track=face.track)
            if not init:
                previous = self.init_source()
                init = str(previous.swap_checkpoint()) if previous else ""
        else:
            if self.sr_source() is not self:
                raise PluginError(f"{self.name}: it uses the training of {self.sr_source().name}; press Train there.")
            swap = self.upstream_swap()
            if swap is not None:
                inputs["swap_checkpoint"] = str(swap.swap_checkpoint())
        if init:
            inputs["init"] = init
        plan.jobs.append(("train", job(self.spec.train, inputs, {"out": self.layout.train}, params)))
        return plan
