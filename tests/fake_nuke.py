"""A small stand-in for Nuke's `nuke` module, strict where MagicMock would hide mistakes.

Tests put it in ``sys.modules["nuke"]`` (the way deadline-cloud-for-nuke fakes Nuke) and drive
the real plugin code with it. It holds nodes with real knob storage and animation, builds
gizmos and scripts from their text with the plugin's own script reader, runs callbacks, and
"renders" the one image graph DubKernels needs: raw EXR frames carried unchanged through
Read, Write, Dot, Switch, Input/Output and gizmos (a Write copies the frame file it pulls).
Missing knobs raise NameError, as in Nuke.
"""
from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from typing import Any, Callable

from dubkernels_nuke.frames import frame_path
from dubkernels_nuke.nkscript import GROUP_CLASSES, ScriptNode, UserKnob, parse_script

GUI = False
KNOB_CLASSES = {1: "String_Knob", 2: "File_Knob", 3: "Int_Knob", 4: "Enumeration_Knob", 6: "Boolean_Knob",
                7: "Double_Knob", 12: "XY_Knob", 20: "Tab_Knob", 22: "PyScript_Knob", 26: "Text_Knob"}
CLASS_KNOBS: dict[str, dict[str, Any]] = {
    "Read": {"file": "", "first": 1, "last": 1, "raw": False, "on_error": "error", "reload": None},
    "Write": {"file": "", "file_type": "", "raw": False, "channels": "rgb", "datatype": "", "metadata": "",
              "create_directories": False},
    "Switch": {"which": 0}, "Input": {"number": 0}, "AudioRead": {"file": "", "ratesource": "file"}, "Root": {"first_frame": 1, "last_frame": 100},
}
COMMON_KNOBS = {"name": "", "label": "", "tile_color": 0, "disable": False, "xpos": 0, "ypos": 0, "help": "",
                "selected": False}
STARTLINE, INVISIBLE = 0x1000, 0x400


class CancelledError(RuntimeError):
    pass


class AnimationKey:
    def __init__(self, x: float, y: float):
        self.x, self.y = x, y


class AnimationCurve:
    def __init__(self, keys: dict[float, float]):
        self._keys = keys

    def keys(self) -> list[AnimationKey]:
        return [AnimationKey(x, y) for x, y in sorted(self._keys.items())]


class Knob:
    """A knob with a value, optional per-channel keys, and for buttons a script."""

    def __init__(self, node: "Node", name: str, value: Any = None, cls: str = "Knob", user: UserKnob | None = None):
        self._node, self._name, self._value, self._cls, self.user = node, name, value, cls, user
        self._keys: dict[int, dict[float, float]] | None = None

    def name(self) -> str:
        return self._name

    def Class(self) -> str:
        return self._cls

    def node(self) -> "Node":
        return self._node

    def value(self, *args: Any) -> Any:
        if self._keys is not None:
            return self.getValueAt(_state.frame, *(args or (0,)))
        if isinstance(self._value, str) and self._value.startswith("{") and self._cls not in ("Text_Knob",):
            return self._node._expression(self._value[1:-1])
        if self._cls == "XY_Knob" and args:
            return self._value[args[0]]
        return self._value

    getValue = value

    def evaluate(self) -> str:
        return self._node._tcl(str(self._value or ""))

    def getEvaluatedValue(self) -> str:
        return self.evaluate()

    def setValue(self, value: Any, chan: int | None = None) -> bool:
        if self._cls == "Enumeration_Knob" and self.user and value not in self.user.items:
            raise ValueError(f"{self._node.name()}.{self._name}: {value!r} is not one of {self.user.items}")
        if self._cls == "XY_Knob" and chan is not None:
            self._value = list(self._value or [0.0, 0.0])
            self._value[chan] = float(value)
        else:
            self._value = _convert(self._cls, value)
        return True

    # animation
    def setAnimated(self, channel: int = -1) -> bool:
        if self._keys is None:
            self._keys = {0: {}, 1: {}}
        return True

    def isAnimated(self, channel: int = -1) -> bool:
        return self._keys is not None

    def setValueAt(self, value: float, time: float, index: int = 0) -> bool:
        if self._keys is None:
            raise RuntimeError(f"{self._name}: setValueAt on a knob that is not animated (call setAnimated)")
        self._keys[index][float(time)] = float(value)
        return True

    def getValueAt(self, time: float, index: int = 0) -> float:
        if self._keys is None:
            return float((self._value or [0.0, 0.0])[index]) if self._cls == "XY_Knob" else float(self._value)
        keys = self._keys[index]
        if not keys:
            return 0.0
        nearest = min(keys, key=lambda t: (abs(t - time), t))
        return keys[float(time)] if float(time) in keys else keys[nearest]

    def animation(self, channel: int) -> AnimationCurve:
        return AnimationCurve(dict(self._keys[channel]) if self._keys else {})

    def execute(self) -> None:
        if self._cls == "PyScript_Knob":
            with _this(self._node, self):
                exec(self.user.text if self.user else "", {"nuke": _module()})
        elif self._name == "reload":
            self._node.reloads += 1
        else:
            raise RuntimeError(f"{self._name} is not a button")


def _convert(cls: str, value: Any) -> Any:
    if cls == "Boolean_Knob":
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1")
    if cls == "Int_Knob":
        return int(float(value))
    if cls == "Double_Knob":
        return float(value)
    if cls == "XY_Knob":
        return [float(v) for v in str(value).strip("{}").split()] if isinstance(value, str) else list(value)
    return value


class Node:
    """A node: class, knobs, inputs; in a Group it has a parent."""

    def __init__(self, cls: str, name: str, parent: "Group | None"):
        self._cls, self._parent = cls, parent
        self._knobs: dict[str, Knob] = {}
        self._inputs: list[Node | None] = []
        self.reloads = 0
        for key, value in {**COMMON_KNOBS, **CLASS_KNOBS.get(cls, {})}.items():
            self._knobs[key] = Knob(self, key, value, "Script_Knob" if key == "reload" else "Knob")
        self._knobs["name"]._value = name

    def Class(self) -> str:
        return self._cls

    def name(self) -> str:
        return str(self._knobs["name"]._value)

    def parent(self) -> "Group | None":
        return self._parent

    def metadata(self, key: str | None = None, time: float | None = None, view: str | None = None) -> Any:
        """What Nuke says of the pixels this node delivers at ``time``: the file it reads, its bit depth."""
        import OpenImageIO as oiio  # here: the plugin's own imports are checked to hold no OpenImageIO

        path = pull(self, int(time if time is not None else _state.frame))
        spec = oiio.ImageInput.open(str(path)).spec()
        depth = {"half": "16-bit half float", "float": "32-bit float"}.get(str(spec.format), str(spec.format))
        data = {"input/filename": str(path), "input/bitsperchannel": depth}
        return data if key is None else data.get(key)

    def fullName(self) -> str:
        if self._parent is None or isinstance(self._parent, Root):
            return self.name()
        return f"{self._parent.fullName()}.{self.name()}"

    def knob(self, name: str) -> Knob | None:
        return self._knobs.get(name)

    def __getitem__(self, name: str) -> Knob:
        if name not in self._knobs:
            raise NameError(f"{self.name()} ({self._cls}) has no knob named {name}")
        return self._knobs[name]

    def knobs(self) -> dict[str, Knob]:
        return dict(self._knobs)

    def input(self, index: int) -> "Node | None":
        return self._inputs[index] if index < len(self._inputs) else None

    def setInput(self, index: int, node: "Node | None") -> bool:
        while len(self._inputs) <= index:
            self._inputs.append(None)
        self._inputs[index] = node
        return True

    def inputs(self) -> int:
        return len(self._inputs)

    def firstFrame(self) -> int:
        if self._cls == "Read":
            return int(self["first"].value())
        source = self.input(0)
        return source.firstFrame() if source else int(root()["first_frame"].value())

    def lastFrame(self) -> int:
        if self._cls == "Read":
            return int(self["last"].value())
        source = self.input(0)
        return source.lastFrame() if source else int(root()["last_frame"].value())

    # expressions
    def _lookup(self, ref: str) -> Knob:
        owner: Node = self
        if ref.startswith("parent."):
            assert self._parent is not None
            owner, ref = self._parent, ref[len("parent."):]
        elif "." in ref:  # NODE.knob: a node of the same group, as Nuke resolves it
            name, ref = ref.rsplit(".", 1)
            group = self._parent or _state.root
            found = group.node(name) if isinstance(group, Group) else None
            assert found is not None, f"{self.name()}: no node {name!r} for the expression {ref!r}"
            owner = found
        return owner[ref]

    def _expression(self, text: str) -> Any:
        value = self._lookup(text.strip()).value()
        return int(value) if isinstance(value, bool) else value

    def _tcl(self, text: str) -> str:
        return re.sub(r"\[value ([\w.]+)\]", lambda m: str(self._lookup(m.group(1)).value()), text)


class Group(Node):
    def __init__(self, cls: str, name: str, parent: "Group | None"):
        super().__init__(cls, name, parent)
        self.children: list[Node] = []

    def node(self, name: str) -> Node | None:
        return next((n for n in self.children if n.name() == name), None)

    def nodes(self) -> list[Node]:
        return list(self.children)

    def begin(self) -> "Group":
        _state.context.append(self)
        return self

    def end(self) -> None:
        _state.context.pop()

    def __enter__(self) -> "Group":
        return self.begin()

    def __exit__(self, *exc: Any) -> None:
        self.end()

    def output_node(self) -> Node:
        return next(n for n in self.children if n.Class() == "Output")

    def output(self) -> Node | None:
        return next((n for n in self.children if n.Class() == "Output"), None)

    def input_node(self, number: int) -> Node:
        return next(n for n in self.children if n.Class() == "Input" and int(n["number"].value()) == number)


class Gizmo(Group):
    pass


class Root(Group):
    def __init__(self) -> None:
        super().__init__("Root", "Root", None)


class ProgressTask:
    """Records messages and progress; cancelled when the test's ``cancel_when(task)`` says so."""

    def __init__(self, title: str):
        self.title, self.messages, self.progress = title, [], []
        _state.tasks.append(self)

    def setMessage(self, text: str) -> None:
        self.messages.append(text)

    def setProgress(self, value: int) -> None:
        self.progress.append(int(value))

    def isCancelled(self) -> bool:
        return bool(_state.cancel_when and _state.cancel_when(self))


class _State:
    def __init__(self) -> None:
        self.root = Root()
        self.context: list[Group] = []
        self.this: list[tuple[Node, Knob | None]] = []
        self.callbacks: dict[str, list[tuple[Callable[..., Any], str]]] = {}
        self.plugin_paths: list[str] = []
        self.messages: list[str] = []
        self.menus: list[tuple[str, ...]] = []
        self.tasks: list[ProgressTask] = []
        self.cancel_when: Callable[[ProgressTask], bool] | None = None
        self.frame = 1
        self.executed: list[tuple[str, int, int]] = []
        self.lock = threading.RLock()


_state = _State()


def _module() -> Any:
    import sys

    return sys.modules["nuke"]


def reset() -> None:
    """A new empty session (what a test starts from)."""
    global _state, GUI
    _state = _State()
    _module().GUI = False


def state() -> _State:
    return _state


class _this:
    def __init__(self, node: Node, knob: Knob | None = None):
        self.entry = (node, knob)

    def __enter__(self) -> None:
        _state.this.append(self.entry)

    def __exit__(self, *exc: Any) -> None:
        _state.this.pop()


# ---------------------------------------------------------------- module API

def root() -> Root:
    return _state.root


def thisNode() -> Node:
    return _state.this[-1][0]


def thisKnob() -> Knob | None:
    return _state.this[-1][1]


def thisGroup() -> Group:
    return _state.context[-1] if _state.context else _state.root


def toNode(name: str) -> Node | None:
    if name == "root":
        return _state.root
    group: Group = thisGroup()
    node: Node | None = None
    for part in name.split("."):
        node = group.node(part)
        if node is None:
            return None
        if isinstance(node, Group):
            group = node
    return node


def allNodes(filter: str | None = None) -> list[Node]:
    return [n for n in thisGroup().children if filter is None or n.Class() == filter]


def frame(f: int | None = None) -> int:
    if f is not None:
        _state.frame = int(f)
    return _state.frame


def message(text: str) -> None:
    _state.messages.append(text)


def executeInMainThread(call: Callable[..., Any], args: Any = (), kwargs: Any = None) -> None:
    with _state.lock:
        call(*(args if isinstance(args, tuple) else (args,)), **(kwargs or {}))


def pluginAddPath(path: str, addToSysPath: bool = True) -> None:
    if path not in _state.plugin_paths:
        _state.plugin_paths.insert(0, path)


def _add(kind: str) -> Callable[..., None]:
    def add(call: Callable[..., Any], args: Any = (), kwargs: Any = None, nodeClass: str = "Write") -> None:
        entry = (call, nodeClass)
        if entry not in _state.callbacks.setdefault(kind, []):
            _state.callbacks[kind].append(entry)
    return add


addBeforeRender, addBeforeFrameRender = _add("beforeRender"), _add("beforeFrameRender")
addAfterRender, addOnCreate = _add("afterRender"), _add("onCreate")


def addKnobChanged(call: Callable[..., Any], args: Any = (), kwargs: Any = None, nodeClass: str = "*",
                   node: Any = None) -> None:
    _add("knobChanged")(call, nodeClass=nodeClass)


def addFilenameFilter(call: Callable[[str], str], args: Any = (), kwargs: Any = None, nodeClass: str = "*") -> None:
    _add("filenameFilter")(call, nodeClass=nodeClass)


def filenameFilter(filename: str) -> str:
    """The facility's path mapping: every registered filter, in order (Nuke's own behaviour)."""
    for call, _ in _state.callbacks.get("filenameFilter", []):
        filename = call(filename)
    return filename


def tprint(*values: Any) -> None:
    _state.messages.append(" ".join(str(v) for v in values))


def _fire(kind: str, node: Node, knob: Knob | None = None) -> None:
    for call, cls in _state.callbacks.get(kind, []):
        if cls in ("*", node.Class()):
            with _this(node, knob):
                call()


def user_sets(node: Node, knob: str, value: Any) -> None:
    """A knob changed by the user in the panel: set it and fire knobChanged (test helper)."""
    node[knob].setValue(value)
    _fire("knobChanged", node, node[knob])


class _Menu:
    def __init__(self, path: tuple[str, ...]):
        self.path = path

    def addMenu(self, name: str, **kwargs: Any) -> "_Menu":
        return _Menu(self.path + (name,))

    def addCommand(self, name: str, command: Any = None, **kwargs: Any) -> None:
        _state.menus.append(self.path + (name,))
        self.command = command


def menu(name: str) -> _Menu:
    if not _module().GUI:
        raise RuntimeError("nuke.menu is only available in the GUI")
    return _Menu((name,))


# ---------------------------------------------------------------- building nodes from script text

def _new_node(cls: str, name: str, parent: Group) -> Node:
    if cls == "Gizmo":
        return Gizmo(cls, name, parent)
    return Group(cls, name, parent) if cls in GROUP_CLASSES else Node(cls, name, parent)


def _apply_knobs(node: Node, parsed: ScriptNode) -> None:
    for user in parsed.user_knobs:
        cls = KNOB_CLASSES.get(user.id, "Knob")
        default: Any = {"Boolean_Knob": False, "Int_Knob": 0, "Double_Knob": 0.0, "XY_Knob": [0.0, 0.0],
                        "Text_Knob": user.text, "Enumeration_Knob": user.items[0] if user.items else ""}.get(cls, "")
        node._knobs[user.name] = Knob(node, user.name, default, cls, user)
    for key, value in parsed.knobs.items():
        if key in ("inputs", "name"):
            continue
        knob = node._knobs.get(key)
        if knob is None:
            node._knobs[key] = Knob(node, key, value)
        elif value.startswith("{") and knob._cls not in ("XY_Knob", "Text_Knob"):
            knob._value = value  # an expression, one brace level left: {parent.knob}
        else:
            knob._value = _convert(knob._cls, value) if knob._cls != "Knob" else _plain(key, value)


def _plain(key: str, value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    try:
        return int(value) if key in ("first", "last", "number", "which", "first_frame", "last_frame") else value
    except ValueError:
        return value


def _build(parsed: list[ScriptNode], parent: Group) -> list[Node]:
    made: dict[int, Node] = {}
    for item in parsed:
        if item.cls == "Root":
            _apply_knobs(parent, item)
            continue
        if _gizmo_file(item.cls):
            node = _gizmo(item.cls, item.name, parent)
        else:
            node = _new_node(item.cls, item.name, parent)
            if isinstance(node, Group):
                _build(item.children, node)
        _apply_knobs(node, item)
        parent.children.append(node)
        made[id(item)] = node
    for item in parsed:
        if id(item) in made:
            for i, source in enumerate(item.inputs):
                made[id(item)].setInput(i, made.get(id(source)) if source is not None else None)
    return list(made.values())


def _gizmo_file(cls: str) -> Path | None:
    for folder in _state.plugin_paths:
        path = Path(folder) / f"{cls}.gizmo"
        if path.is_file():
            return path
    return None


def _gizmo(cls: str, name: str, parent: Group) -> Gizmo:
    path = _gizmo_file(cls)
    if path is None:
        raise RuntimeError(f"Unknown command. {cls}: no {cls}.gizmo on the plugin path")
    (definition,) = [n for n in parse_script(path.read_text(), str(path)) if n.cls == "Gizmo"]
    node = Gizmo(cls, name, parent)
    _apply_knobs(node, definition)
    _build(definition.children, node)
    return node


def _unique(cls: str, parent: Group) -> str:
    base = cls[3:] if cls.startswith("DK_") else cls
    n = 1
    while parent.node(f"{base}{n}") is not None:
        n += 1
    return f"{base}{n}"


def createNode(cls: str, knobs: str = "", inpanel: bool = True) -> Node:
    parent = thisGroup()
    node = _gizmo(cls, _unique(cls, parent), parent) if _gizmo_file(cls) else _new_node(cls, _unique(cls, parent), parent)
    parent.children.append(node)
    _fire("onCreate", node)
    return node


def nodePaste(path: str) -> Node | None:
    made = _build(parse_script(Path(path).read_text(), path), thisGroup())
    for node in made:
        _fire("onCreate", node)
    return made[-1] if made else None


def scriptOpen(path: str) -> None:
    reset_script()
    nodePaste(path)
    _state.root["name"].setValue(str(path))


def reset_script() -> None:
    _state.root = Root()


# ---------------------------------------------------------------- rendering

class RenderError(RuntimeError):
    pass


def pull(node: Node, at: int) -> Path:
    """The EXR file a raw pipeline delivers at ``node`` for frame ``at``."""
    cls = node.Class()
    if node["disable"].value() and cls not in ("Write",):
        source = node.input(0)
        if source is None:
            raise RenderError(f"{node.fullName()}: disabled with no input")
        return pull(source, at)
    if cls == "Read":
        first, last = int(node["first"].value()), int(node["last"].value())
        if not first <= at <= last:
            raise RenderError(f"{node.fullName()}: frame {at} outside {first}-{last}")
        path = frame_path(node["file"].evaluate(), at)
        if not path.is_file():
            raise RenderError(f"{node.fullName()}: Read error: {path} does not exist")
        return path
    if cls == "Input":
        group = node._parent
        assert group is not None
        source = group.input(int(node["number"].value()))
        if source is None:
            raise RenderError(f"{group.fullName()}: input {node.name()} is not connected")
        return pull(source, at)
    if cls == "Switch":
        source = node.input(int(node["which"].value()))
    elif isinstance(node, Group) and cls != "Root":
        source = node.output_node()
    elif cls in ("Dot", "Output", "Write"):
        source = node.input(0)
    else:
        raise RenderError(f"the fake nuke cannot render a {cls}")
    if source is None:
        raise RenderError(f"{node.fullName()}: input not connected")
    return pull(source, at)


def _write_as(src: Path, dst: Path, datatype: str) -> None:
    """A Write's output: the pixels as they come, converted to the Write's datatype where it differs (as Nuke
    does: a 32-bit float plate through a "16 bit half" Write is quantised)."""
    import OpenImageIO as oiio

    wanted = {"16 bit half": oiio.HALF, "32 bit float": oiio.FLOAT}.get(datatype)
    image = oiio.ImageBuf(str(src))
    if wanted is None or all(oiio.TypeDesc(f) == wanted for f in (list(image.spec().channelformats)
                                                                  or [image.spec().format])):
        shutil.copyfile(src, dst)
        return
    image.set_write_format(wanted)
    if not image.write(str(dst), fileformat="exr"):
        raise RenderError(f"{dst}: {image.geterror()}")


def execute(node: Node | str, start: int, end: int, incr: int = 1, views: Any = None,
            continueOnError: bool = False) -> None:
    write = toNode(node) if isinstance(node, str) else node
    assert write is not None
    if write["disable"].value():
        raise RuntimeError(f"{write.fullName()} is disabled")
    _state.executed.append((write.fullName(), start, end))
    _fire("beforeRender", write)
    for at in range(start, end + 1, incr):
        _state.frame = at
        _fire("beforeFrameRender", write)
        source = write.input(0)
        if source is None:
            raise RenderError(f"{write.fullName()}: nothing connected")
        src = pull(source, at)
        dst = frame_path(write["file"].evaluate(), at)
        if write["create_directories"].value():
            dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.tmp")
        _write_as(src, tmp, str(write["datatype"].value() or ""))
        tmp.replace(dst)
    _fire("afterRender", write)


# knob class names the plugin casts to (one Knob class carries them all here)
Script_Knob = PyScript_Knob = XY_Knob = Array_Knob = File_Knob = Knob
