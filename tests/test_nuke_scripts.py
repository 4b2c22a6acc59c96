"""The generated gizmos and the two-pass template, read back with a reader of Nuke's script syntax and
checked against `dubkernels describe --json`: every parameter is a knob with its type, default, range and
help; the internals are Input -> Write (disabled) ... Read(cache) -> Switch -> Output; the template is the
paper's graph. No Nuke needed."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.nuke_session import PLUGIN  # noqa: F401  (puts the plugin on sys.path)

from dubkernels_nuke.knobs import BOOL, BUTTON, DOUBLE, ENUM, FILE, INT, STRING, XY  # noqa: E402
from dubkernels_nuke.nkscript import ScriptError, ScriptNode, parse_script, read_script  # noqa: E402
from dubkernels_nuke.nodes import NODES, NodeSpec  # noqa: E402
from dubkernels_nuke.paths import GIZMO_DIR, TEMPLATE_FILE  # noqa: E402

KNOB_IDS = {"bool": BOOL, "int": INT, "float": DOUBLE, "tuple": STRING}


@pytest.fixture(scope="module")
def described():
    out = subprocess.run([sys.executable, "-m", "dubkernels.cli.main", "describe", "--json"], capture_output=True,
                         text=True, check=True)
    return {k["name"]: k for k in json.loads(out.stdout)["kinds"]}


def _gizmo(spec: NodeSpec) -> ScriptNode:
    (gizmo,) = read_script(GIZMO_DIR / f"{spec.cls}.gizmo")
    assert gizmo.cls == "Gizmo"
    return gizmo


def test_the_committed_gizmos_and_template_are_current():
    result = subprocess.run([sys.executable, "scripts/make_gizmos.py", "--check"], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_gizmos_rewrites_a_stale_gizmo(tmp_path):
    path = GIZMO_DIR / "DK_FaceSR.gizmo"
    original = path.read_text()
    try:
        path.write_text(original.replace("batch 8", "batch 9"))
        check = subprocess.run([sys.executable, "scripts/make_gizmos.py", "--check"], cwd=REPO, capture_output=True,
                               text=True)
        assert check.returncode == 1 and "gizmos/DK_FaceSR.gizmo" in check.stdout
        subprocess.run([sys.executable, "scripts/make_gizmos.py"], cwd=REPO, check=True, capture_output=True)
        assert path.read_text() == original
    finally:
        path.write_text(original)


@pytest.mark.parametrize("spec", NODES, ids=lambda s: s.cls)
def test_every_parameter_of_a_nodes_jobs_is_a_knob_with_its_type_default_and_help(spec, described):
    gizmo = _gizmo(spec)
    kinds = [spec.process] + ([spec.train] if spec.train else [])
    for kind in kinds:
        for param in described[kind]["params"]:
            knob = gizmo.user_knob(param["name"])
            if param["type"] == "str":
                assert knob.id == (ENUM if param.get("choices") else STRING), param["name"]
                assert knob.items == list(param.get("choices", []))
            else:
                assert knob.id == KNOB_IDS[param["type"]], param["name"]
            if param["name"] == "device":
                assert gizmo.knobs["device"] == "auto"
                continue
            assert knob.tooltip.startswith(param["help"])
            value = gizmo.knobs.get(param["name"], "")
            default = param["default"]
            if param["type"] == "bool":
                assert value == ("true" if default else "false")
            elif param["type"] in ("int", "float"):
                assert float(value) == float(default)
            elif param["type"] == "tuple":
                assert value.split() == [str(v) for v in default]
            else:
                assert value == default
            if param["type"] == "float":
                assert knob.range is not None and knob.range[0] == param["min"]


@pytest.mark.parametrize("spec", NODES, ids=lambda s: s.cls)
def test_every_node_has_cache_frame_range_device_info_and_its_buttons(spec, described):
    gizmo = _gizmo(spec)
    assert gizmo.user_knob("cache").id == FILE
    assert gizmo.user_knob("frame_range").items == ["input", "global", "custom"]
    assert gizmo.user_knob("first").id == INT and gizmo.user_knob("last").id == INT
    buttons = {k.name: k for k in gizmo.user_knobs if k.id == BUTTON}
    expected = {"process", "open_report", "reveal_cache"} | ({"train"} if spec.train else set())
    assert expected <= set(buttons)
    for name in expected:
        assert f"dk.press(nuke.thisNode(), '{name}')" in buttons[name].text
    assert "info" in {k.name for k in gizmo.user_knobs}
    has_device = any(p["name"] == "device" for k in (spec.process, spec.train) if k for p in described[k]["params"])
    assert ("device" in gizmo.knobs) == has_device
    if spec.process == "analyze":
        points = [k for k in gizmo.user_knobs if k.id == XY]
        assert len(points) == 17 + 12 + 20  # jaw, eyes, mouth
        assert {"lm_prev", "lm_next", "lm_key", "lm_save"} <= set(buttons)


@pytest.mark.parametrize("spec", NODES, ids=lambda s: s.cls)
def test_gizmo_internals_are_input_write_read_switch_output(spec):
    gizmo = _gizmo(spec)
    inputs = [n for n in gizmo.children if n.cls == "Input"]
    assert [n.name for n in inputs] == spec.inputs
    assert [int(n.knobs["number"]) for n in inputs] == list(range(len(spec.inputs)))
    for feed in spec.inputs:
        write = gizmo.child(f"Export_{feed}")
        assert write.cls == "Write" and write.inputs == [gizmo.child(feed)]
        assert write.knobs["disable"] == "true" and write.knobs["raw"] == "true"
        assert write.knobs["file_type"] == "exr" and write.knobs["channels"] == "all"
        assert write.knobs["datatype"] == "16 bit half"
    output = gizmo.child("Output1")
    if spec.makes_layer:
        switch = gizmo.child("Show")
        assert output.inputs == [switch]
        assert switch.inputs == [gizmo.child(spec.inputs[0]), gizmo.child("Cache")]  # passthrough | cache
        assert switch.knobs["which"] == "{parent.dk_processed}"
        read = gizmo.child("Cache")
        assert read.knobs["file"] == "[value parent.cache]/out/out.####.exr"
        assert read.knobs["raw"] == "true" and read.knobs["on_error"] == "error"
    else:
        assert output.inputs == [gizmo.child(spec.inputs[0])]


def test_the_template_is_the_papers_two_pass_graph():
    nodes = {n.name: n for n in read_script(TEMPLATE_FILE)}
    assert nodes["Read_actor"].cls == "Read" and nodes["Read_dubber"].cls == "Read"

    def through_dots(node):
        while node is not None and node.cls == "Dot":
            node = node.inputs[0]
        return node

    def feeds(name):
        return [through_dots(i).name if i else None for i in nodes[name].inputs]

    assert feeds("Analyze_actor") == ["Read_actor"] and feeds("Analyze_dubber") == ["Read_dubber"]
    assert feeds("PoseAlign1") == ["Analyze_actor", "Analyze_dubber"]
    assert feeds("OwnMouth_quicklook") == ["Analyze_actor", "PoseAlign1"]
    for n, face in ((1, "PoseAlign1"), (2, "OwnMouth_comp")):  # pass 2 refines the own mouth, as dub does
        assert feeds(f"Swap_pass{n}") == [face, "Analyze_actor"]
        assert feeds(f"Stabilize_pass{n}") == [f"Swap_pass{n}"]
        assert feeds(f"FaceSR_pass{n}") == [f"Stabilize_pass{n}", "Analyze_actor"]
        assert feeds(f"Composite_pass{n}") == ["Analyze_actor", f"FaceSR_pass{n}"]
    assert feeds("Write_final") == ["Composite_final"] and feeds("Composite_final") == ["Analyze_actor", "Deliver"]
    assert feeds("Deliver") == ["OwnMouth_quicklook", "FaceSR_pass1", "FaceSR_pass2"]  # the candidates' face layers
    assert nodes["Deliver"].knobs["which"] == "0" and "extent" not in nodes["Composite_final"].knobs  # plate
    assert nodes["Composite_pass1"].knobs["extent"] == nodes["OwnMouth_comp"].knobs["extent"] == "face"
    assert nodes["Swap_pass2"].knobs["init_from"] == "Swap_pass1"  # trains on from pass 1's network
    assert nodes["FaceSR_pass2"].knobs["training_from"] == "FaceSR_pass1"


def test_template_knobs_exist_on_their_gizmos_with_valid_values():
    specs = {s.cls: s for s in NODES}
    for node in read_script(TEMPLATE_FILE):
        if node.cls not in specs:
            continue
        gizmo = _gizmo(specs[node.cls])
        for name, value in node.knobs.items():
            if name in ("inputs", "name", "xpos", "ypos", "label"):
                continue
            knob = gizmo.user_knob(name)
            if knob.items:
                assert value in knob.items, (node.name, name, value)


def test_the_reader_follows_stack_push_set_and_groups():
    text = """version 13.2 v5
Read { inputs 0 file "/a.####.exr" name A }
set NA [stack 0]
Read { inputs 0 file {/b.####.exr} name B }
push 0
push $NA
Merge2 { inputs 3 name M }
Group { name G addUserKnob {20 t l "My tab"} addUserKnob {7 gain l Gain R 0 2 t "a \\"gain\\""} gain 1.5 }
 Input { inputs 0 name In }
 Blur { size {{parent.gain}} name Bl }
 Output { name Out }
end_group
Dot { name D }
"""
    nodes = {n.name: n for n in parse_script(text)}
    merge = nodes["M"]
    assert [i.name if i else None for i in merge.inputs] == ["A", None, "B"]  # input 0 was on top
    group = nodes["G"]
    assert group.inputs == [merge]
    assert [c.name for c in group.children] == ["In", "Bl", "Out"]
    assert group.child("Out").inputs == [group.child("Bl")] and group.child("Bl").inputs == [group.child("In")]
    assert group.child("Bl").knobs["size"] == "{parent.gain}"
    gain = group.user_knob("gain")
    assert (gain.id, gain.label, gain.range, gain.tooltip) == (7, "Gain", (0.0, 2.0), 'a "gain"')
    assert group.knobs["gain"] == "1.5"
    assert nodes["D"].inputs == [group]
    assert nodes["B"].knobs["file"] == "/b.####.exr"


def test_the_reader_takes_a_saved_scripts_header_and_masked_inputs():
    text = """#! /opt/Nuke14.0v5/libnuke-14.0.5.so -nx
version 14.0 v5
Read { inputs 0 file /a.####.exr name A }
Read { inputs 0 file /b.####.exr name B }
Read { inputs 0 file /m.####.exr name M }
Merge2 { inputs 2+1 name Over }
"""
    nodes = {n.name: n for n in parse_script(text)}
    assert [i.name for i in nodes["Over"].inputs] == ["M", "B", "A"]  # top of the stack first


@pytest.mark.parametrize("text, message", [
    ("Merge2 { inputs 2 name M }", "takes 2 inputs"),
    ("Group { inputs 0 name G }\n Input { inputs 0 }", "not closed"),
    ("push $nowhere", "unknown variable"),
    ("Blur { size 1", "unbalanced"),
    ("Merge2 { inputs two name M }", "cannot read 'inputs two'"),
])
def test_the_reader_rejects_broken_scripts(text, message):
    with pytest.raises(ScriptError, match=message):
        parse_script(text)
