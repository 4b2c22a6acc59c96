"""Nuke's script syntax (.nk, .gizmo), read and written without Nuke (no `nuke` import).

A script is a TCL program run against a node stack: ``Class { knob value ... }`` pops the
node's inputs off the stack (``inputs N``; input 0 is the top), connects them and pushes
the node; ``set VAR [stack 0]`` names the top, ``push $VAR`` / ``push 0`` pushes a named
node or an empty input, and ``end_group`` closes a ``Group`` or ``Gizmo`` body. This module
reads such text into :class:`ScriptNode` objects (class, knobs, user knobs, inputs, children)
and writes values back in the same quoting, so generated gizmos and templates can be checked
by parsing them, and farm tools can read a script's DubKernels nodes without Nuke.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SOURCE_CLASSES = frozenset({"Read", "AudioRead", "Input", "Constant", "CheckerBoard2", "ColorWheel", "ColorBars", "Ramp",
                            "Radial", "Rectangle", "Noise", "DeepRead", "ReadGeo2", "Camera2", "Camera3", "Axis2",
                            "Light2", "Root", "BackdropNode", "StickyNote", "Viewer",
                            "Gizmo"})  # a .gizmo file's Gizmo block is a definition: no inputs
GROUP_CLASSES = frozenset({"Group", "Gizmo", "LiveGroup"})
UNPUSHED_CLASSES = frozenset({"Root", "BackdropNode", "StickyNote"})


class ScriptError(ValueError):
    """Text that is not Nuke script syntax this reader understands."""


@dataclass
class UserKnob:
    """One ``addUserKnob {ID NAME l LABEL t TOOLTIP ...}`` entry."""

    id: int
    name: str
    label: str = ""
    tooltip: str = ""
    flags: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)    # M {...}: an enumeration's items
    range: tuple[float, float] | None = None           # R min max: a slider's range
    text: str = ""                                     # T: a button's script, a text knob's text, a link's target
    group: int | None = None                           # n 1 / n -1: a tab group's begin / end


@dataclass
class ScriptNode:
    """A node of a parsed script; ``inputs`` follow Nuke's numbering (None: not connected)."""

    cls: str
    knobs: dict[str, str]
    user_knobs: list[UserKnob]
    inputs: list["ScriptNode | None"] = field(default_factory=list)
    children: list["ScriptNode"] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.knobs.get("name", "")

    def child(self, name: str) -> "ScriptNode":
        for node in self.children:
            if node.name == name:
                return node
        raise KeyError(f"{self.name or self.cls} has no node named {name}")

    def user_knob(self, name: str) -> UserKnob:
        for knob in self.user_knobs:
            if knob.name == name:
                return knob
        raise KeyError(f"{self.name or self.cls} has no user knob {name}")


# ---------------------------------------------------------------- reading

def _words(text: str) -> list[list[str]]:
    """TCL commands (lists of words, braces and quotes resolved one level) of ``text``."""
    commands: list[list[str]] = []
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n" or c == ";":
            if words:
                commands.append(words)
                words = []
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == "#" and not words:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "{":
            depth, start = 1, i + 1
            i += 1
            while i < n and depth:
                if text[i] == "\\":
                    i += 2
                    continue
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            if depth:
                raise ScriptError(f"unbalanced braces from character {start - 1}")
            words.append(text[start:i - 1])
        elif c == '"':
            out, i = [], i + 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    out.append({"n": "\n", "t": "\t"}.get(text[i + 1], text[i + 1]))
                    i += 2
                else:
                    out.append(text[i])
                    i += 1
            if i >= n:
                raise ScriptError("unterminated quoted string")
            words.append("".join(out))
            i += 1
        else:
            start, depth = i, 0
            while i < n and (depth or text[i] not in " \t\r\n;"):
                depth += {"[": 1, "]": -1}.get(text[i], 0)
                i += 1
            words.append(text[start:i])
    if words:
        commands.append(words)
    return commands


def _user_knob(body: str) -> UserKnob:
    words = [w for line in _words(body) for w in line]
    if len(words) < 2:
        raise ScriptError(f"addUserKnob {{{body}}} needs an id and a name")
    knob = UserKnob(int(words[0]), words[1])
    i = 2
    while i < len(words):
        key = words[i]
        if key[:1] in "+-" and len(key) > 1:
            knob.flags.append(key)
            i += 1
        elif key == "R":
            knob.range = (float(words[i + 1]), float(words[i + 2]))
            i += 3
        elif key == "M":
            knob.items = [w for line in _words(words[i + 1]) for w in line]
            i += 2
        elif key in ("l", "t", "T", "n"):
            value = words[i + 1]
            if key == "l":
                knob.label = value
            elif key == "t":
                knob.tooltip = value
            elif key == "T":
                knob.text = value
            else:
                knob.group = int(value)
            i += 2
        else:
            i += 1  # a keyword this reader does not need
    return knob


def _node(cls: str, body: str, where: str) -> ScriptNode:
    knobs: dict[str, str] = {}
    user: list[UserKnob] = []
    for words in _words(body):
        if len(words) % 2:
            raise ScriptError(f"{where}: {cls}: knob line {' '.join(words)[:80]!r} is not name/value pairs; is it a "
                              "Nuke script?")
        for name, value in zip(words[::2], words[1::2]):
            if name == "addUserKnob":
                user.append(_user_knob(value))
            else:
                knobs[name] = value
    return ScriptNode(cls, knobs, user)


def _input_count(node: ScriptNode, where: str) -> int:
    """``inputs N``, or ``inputs N+M`` (N inputs and M masks, as Nuke writes a masked Merge)."""
    if "inputs" not in node.knobs:
        return 0 if node.cls in SOURCE_CLASSES else 1
    try:
        return sum(int(part) for part in node.knobs["inputs"].split()[0].split("+"))
    except ValueError:
        raise ScriptError(f"{where}: {node.cls} {node.name}: cannot read 'inputs {node.knobs['inputs']}'") from None


def parse_script(text: str, where: str = "script") -> list[ScriptNode]:
    """The top-level nodes of a script, connected; a group's nodes are in its ``children``."""
    top: list[ScriptNode] = []
    levels: list[tuple[ScriptNode | None, list[ScriptNode], list[ScriptNode | None]]] = [(None, top, [])]
    names: dict[str, ScriptNode | None] = {}
    for words in _words(text):
        group, nodes, stack = levels[-1]
        head = words[0]
        if head == "version" or head.startswith("define_window_layout"):
            continue
        if head == "set" and len(words) == 3 and words[2].replace(" ", "") == "[stack0]":
            names[words[1]] = stack[-1] if stack else None
        elif head == "push" and len(words) == 2:
            stack.append(None if words[1] == "0" else names.get(words[1].lstrip("$")))
            if words[1] != "0" and words[1].lstrip("$") not in names:
                raise ScriptError(f"{where}: push of unknown variable {words[1]}")
        elif head == "end_group":
            if group is None:
                raise ScriptError(f"{where}: end_group outside a group")
            levels.pop()
        elif len(words) == 2 and head[:1].isalpha():
            node = _node(head, words[1], where)
            count = _input_count(node, where)
            if len(stack) < count:
                raise ScriptError(f"{where}: {head} {node.name} takes {count} inputs but the stack holds {len(stack)}")
            node.inputs = [stack.pop() for _ in range(count)]  # input 0 was on top
            nodes.append(node)
            if head not in UNPUSHED_CLASSES:
                stack.append(node)
            if head in GROUP_CLASSES:
                levels.append((node, node.children, []))
        else:
            raise ScriptError(f"{where}: cannot read the command {' '.join(words)[:80]!r}")
    if len(levels) != 1:
        raise ScriptError(f"{where}: a group is not closed with end_group")
    return top


def read_script(path: str | Path) -> list[ScriptNode]:
    """Parse the script or gizmo file at ``path``."""
    path = Path(path)
    return parse_script(path.read_text(encoding="utf-8"), str(path))


# ---------------------------------------------------------------- writing

def quote(value: object) -> str:
    """A knob value as Nuke writes it: bare when it is one plain word, else in double quotes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text and all(c.isalnum() or c in "._-/:+#%" for c in text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def user_knob_text(knob: UserKnob) -> str:
    """The ``addUserKnob {...}`` line of a user knob."""
    parts = [str(knob.id), knob.name]
    if knob.label:
        parts += ["l", quote(knob.label)]
    if knob.group is not None:
        parts += ["n", str(knob.group)]
    if knob.items:
        parts += ["M", "{" + " ".join(quote(i) for i in knob.items) + "}"]
    if knob.range is not None:
        parts += ["R", _number(knob.range[0]), _number(knob.range[1])]
    if knob.tooltip:
        parts += ["t", quote(knob.tooltip)]
    if knob.text:
        parts += ["T", quote(knob.text)]
    parts += knob.flags
    return "addUserKnob {" + " ".join(parts) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass
class GraphNode:
    """A node to write: class, name, knob lines (``name value``, already quoted) and input names."""

    cls: str
    name: str
    lines: list[str] = field(default_factory=list)
    inputs: list[str | None] = field(default_factory=list)
    body: str = ""  # a group's nodes, written before its end_group


def graph_text(nodes: list[GraphNode]) -> str:
    """Nodes in order, each input pushed by name (input 0 last, so it is on top), each node named after."""
    out: list[str] = []
    for node in nodes:
        for name in reversed(node.inputs):
            out.append("push 0" if name is None else f"push $N_{name}")
        lines = [f"{node.cls} {{", f" inputs {len(node.inputs)}"] + [f" {line}" for line in node.lines]
        lines += [f" name {quote(node.name)}", "}"]
        out.append("\n".join(lines))
        if node.body:
            out.append(node.body.rstrip("\n"))
            out.append("end_group")
        out.append(f"set N_{node.name} [stack 0]")
    return "\n".join(out) + "\n"
