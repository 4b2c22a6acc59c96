"""The Nuke plugin's real code driven through a fake `nuke` module: the two-pass template built on the
sample shot, its buttons pressed in order with the real `dubkernels` engine, and the final Write's frames
equal to `dubkernels dub`'s bit for bit; render checks, stale marks, cancel and resume, landmark fixes,
errors as Nuke messages, the menu."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from dubkernels.io.frames import read_frame
from dubkernels.metrics.image import changed_outside
from dubkernels.pipeline.dub import dub_shot
from dubkernels.pipeline.shot import load_shot
from tests.conftest import REPO, same_bits
from tests.nuke_session import PLUGIN, fake_nuke, new_session, press
from tests.tiny_nets import tiny_sample, tiny_shot_text

from dubkernels_nuke import buttons, engine, landmarks, menu  # noqa: E402
from dubkernels_nuke.describe import plugin_version  # noqa: E402
from dubkernels_nuke.dknode import DKNode, PluginError  # noqa: E402
from dubkernels_nuke.overrides import override_text  # noqa: E402
from dubkernels_nuke.frames import frame_path, frames_on_disk  # noqa: E402
from dubkernels_nuke.nodes import after_process  # noqa: E402
from dubkernels_nuke.paths import TEMPLATE_FILE  # noqa: E402
from dubkernels_nuke.state import COLOURS  # noqa: E402

nuke = fake_nuke
FRAMES = list(range(1001, 1006))
BUTTONS_IN_ORDER = [("Analyze_actor", "process"), ("Analyze_dubber", "process"), ("PoseAlign1", "process"),
                    ("OwnMouth_quicklook", "process"), ("OwnMouth_comp", "process"),
                    ("Swap_pass1", "train"), ("Swap_pass1", "process"), ("Stabilize_pass1", "process"),
                    ("FaceSR_pass1", "train"), ("FaceSR_pass1", "process"), ("Composite_pass1", "process"),
                    ("Swap_pass2", "train"), ("Swap_pass2", "process"), ("Stabilize_pass2", "process"),
                    ("FaceSR_pass2", "process"), ("Composite_pass2", "process"), ("Composite_final", "process")]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return tiny_sample(tmp_path_factory.mktemp("nuke"), len(FRAMES))


@pytest.fixture(autouse=True)
def engine_venv(monkeypatch):
    monkeypatch.setenv("DUBKERNELS_VENV", sys.prefix)


def template_session(root: Path, made, script: str = "shot", gui: bool = False) -> Path:
    """The two-pass template pasted into root/SCRIPT/shot.nk (caches beside it), Reads on the sample, tiny
    networks; returns the script's folder."""
    new_session(gui)
    folder = root / script
    folder.mkdir(exist_ok=True)
    nuke.root()["name"].setValue(str(folder / "shot.nk"))
    menu.load_template()
    for name, pattern in (("Read_actor", made.actor), ("Read_dubber", made.dubber)):
        read = nuke.toNode(name)
        read["file"].setValue(pattern)
        read["first"].setValue(FRAMES[0])
        read["last"].setValue(FRAMES[-1])
    for name in ("Swap_pass1", "Swap_pass2"):
        nuke.toNode(name)["config"].setValue(str(root / "tiny.json"))
        nuke.toNode(name)["workers"].setValue(0)
    nuke.toNode("FaceSR_pass1")["config"].setValue(str(root / "tiny_sr.json"))
    nuke.toNode("FaceSR_pass1")["workers"].setValue(0)
    nuke.toNode("Write_final")["file"].setValue(str(folder / "final" / "final.####.exr"))
    return folder


@pytest.fixture(scope="module")
def dubbed(sample):
    """The sample dubbed twice: by `dubkernels dub`, and by the template's buttons in Nuke; then rendered."""
    root, made = sample
    (root / "dub.toml").write_text(tiny_shot_text(root, made.actor, made.dubber, "dub/work", "dub/final.####.exr"))
    dub_shot(load_shot(root / "dub.toml", ["shot.deliver=pass2"]), log=lambda *a: None)  # the template's pass 2
    os.environ["DUBKERNELS_VENV"] = sys.prefix
    folder = template_session(root, made)
    nuke.toNode("Deliver")["which"].setValue(2)  # deliver pass 2, as the shot file pins it
    for name, button in BUTTONS_IN_ORDER:
        press(nuke.toNode(name), button)
    nuke.execute(nuke.toNode("Write_final"), FRAMES[0], FRAMES[-1])
    return folder


def test_the_template_pressed_in_order_renders_the_frames_of_dub_bit_for_bit(dubbed):
    for f in FRAMES:
        assert same_bits(dubbed / f"final/final.{f}.exr", dubbed.parent / f"dub/final.{f}.exr"), f"frame {f} differs"


def test_each_node_wrote_its_job_specs_and_shows_valid_cached_frames(dubbed):
    cache = dubbed / "dubkernels_cache"
    train1 = json.loads((cache / "Swap_pass1/jobs/train.json").read_text())
    assert train1["stage"] == "train"
    assert train1["inputs"]["dubber"] == str(cache / "Analyze_dubber/inputs/plate.####.exr")
    assert train1["inputs"]["actor_render"] == str(cache / "PoseAlign1/actor_render/par.####.exr")
    assert train1["inputs"]["dubber_render"] == str(cache / "PoseAlign1/out/out.####.exr")
    train2 = json.loads((cache / "Swap_pass2/jobs/train.json").read_text())
    assert train2["inputs"]["init"] == str(cache / "Swap_pass1/train/latest.safetensors")
    assert train2["inputs"]["dubber"] == str(cache / "OwnMouth_comp/out/out.####.exr")  # pass 2 refines the own mouth
    sr2 = json.loads((cache / "FaceSR_pass2/jobs/process.json").read_text())
    assert sr2["inputs"]["checkpoint"] == str(cache / "FaceSR_pass1/train/latest.safetensors")
    for name, _ in BUTTONS_IN_ORDER:
        node = nuke.toNode(name)
        assert node["info"].value().startswith("state: processed"), (name, node["info"].value())
        if not DKNode(node).spec.makes_layer:
            continue
        assert node["dk_processed"].value() is True and node.node("Cache").reloads >= 1
        read = node.node("Cache")
        for f in FRAMES:
            path = Path(read["file"].evaluate().replace("####", f"{f:04d}"))
            assert read_frame(path).pixels.size > 0


def test_a_lost_cache_frame_stops_the_render_naming_the_node_and_the_command_that_refills_it(dubbed):
    lost = dubbed / "dubkernels_cache/Composite_final/out/out.1003.exr"
    lost.unlink()
    with pytest.raises(RuntimeError, match=r"Composite_final has no cached frame 1003") as error:
        nuke.execute(nuke.toNode("Write_final"), FRAMES[0], FRAMES[-1])
    command = str(error.value).split("Fill it with: ")[1]
    assert command.endswith("jobs/process.json --frames 1003")
    subprocess.run(command.split(), check=True, capture_output=True)
    nuke.execute(nuke.toNode("Write_final"), FRAMES[0], FRAMES[-1])
    assert same_bits(dubbed / "final/final.1003.exr", dubbed.parent / "dub/final.1003.exr")


def test_a_result_changing_knob_marks_the_node_stale_and_the_render_refuses_it(dubbed):
    node = nuke.toNode("Composite_final")
    nuke.user_sets(nuke.toNode("FaceSR_pass2"), "batch", 3)  # does not change the result
    assert nuke.toNode("FaceSR_pass2")["info"].value().startswith("state: processed")
    nuke.user_sets(node, "grow", 0.2)
    assert node["info"].value().startswith("state: stale")
    assert node["tile_color"].value() == COLOURS["stale"]
    jobs = sorted((dubbed / "dubkernels_cache/Composite_final/jobs").iterdir())
    before = [p.stat().st_mtime_ns for p in jobs]
    with pytest.raises(RuntimeError, match=r"Composite_final is stale .*Fill it with: press Process on "
                                           r"Composite_final in Nuke, or run: nuke -t .*dub_process.py .*shot.nk "
                                           r"--node Composite_final"):
        nuke.execute(nuke.toNode("Write_final"), FRAMES[0], FRAMES[-1])
    assert sorted((dubbed / "dubkernels_cache/Composite_final/jobs").iterdir()) == jobs  # the check writes nothing
    assert [p.stat().st_mtime_ns for p in jobs] == before
    nuke.user_sets(node, "grow", 0.15)
    assert node["info"].value().startswith("state: processed")
    assert node["tile_color"].value() == COLOURS["processed"]


def test_a_knob_set_by_a_script_is_seen_by_the_next_button_and_render(dubbed):
    stabilize, face_sr = nuke.toNode("Stabilize_pass2"), nuke.toNode("FaceSR_pass2")
    stabilize["beta"].setValue(0.8)  # by a script: no knobChanged, no mark (Nuke before 17.1, panel closed)
    assert stabilize["tile_color"].value() == COLOURS["processed"]
    with pytest.raises(buttons.ButtonError, match=r"FaceSR_pass2: its input 'face' comes from Stabilize_pass2, "
                                                  r"which is stale \(its settings or inputs changed"):
        press(face_sr, "process")
    assert stabilize["tile_color"].value() == COLOURS["stale"]  # the mark shown now
    stabilize["beta"].setValue(0.5)
    final = nuke.toNode("Composite_final")
    final["grow"].setValue(0.2)
    with pytest.raises(RuntimeError, match=r"Composite_final is stale"):
        nuke.execute(nuke.toNode("Write_final"), FRAMES[0], FRAMES[-1])
    assert final["tile_color"].value() == COLOURS["stale"]
    final["grow"].setValue(0.15)


def test_a_plate_wired_straight_in_is_exported_and_tracked_by_the_node_itself(dubbed):
    """No Analyze node: MouthComposite exports the plate through its internal Write and tracks it; the result
    is the template's own pass-2 composite."""
    composite = nuke.createNode("DK_MouthComposite")
    composite.setInput(0, nuke.toNode("Read_actor"))
    composite.setInput(1, nuke.toNode("FaceSR_pass2"))
    composite["uncovered"].setValue("copy")
    press(composite, "process")
    layout = DKNode(composite).layout
    assert frames_on_disk(layout.export("plate")) == FRAMES and layout.export_track("plate").is_file()
    assert ("MouthComposite1.Export_plate", FRAMES[0], FRAMES[-1]) in nuke.state().executed
    assert composite.node("Export_plate")["disable"].value() is True  # disabled again after the export
    for f in FRAMES:
        assert same_bits(frame_path(layout.out, f), dubbed / f"final/final.{f}.exr")


def test_a_float32_plate_stays_bit_exact_outside_the_mask_through_the_gizmos(dubbed, sample, tmp_path):
    root, made = sample
    plate = tmp_path / "plate32" / "a.####.exr"
    plate.parent.mkdir()
    for f in FRAMES:  # the actor plate as 32-bit float, with detail a half float cannot hold
        image = oiio.ImageBuf(made.actor.replace("####", str(f)))
        pixels = image.get_pixels(oiio.FLOAT)
        pixels[..., :3] += np.float32(1e-4) * np.sin(np.arange(pixels[..., :3].size)).reshape(pixels[..., :3].shape)
        image = oiio.ImageBuf(oiio.ImageSpec(image.spec().width, image.spec().height, pixels.shape[2], oiio.FLOAT))
        image.set_pixels(oiio.ROI(), pixels)
        assert image.write(str(plate).replace("####", str(f)))
    read = nuke.createNode("Read")
    read["file"].setValue(str(plate))
    read["first"].setValue(FRAMES[0])
    read["last"].setValue(FRAMES[-1])
    composite = nuke.createNode("DK_MouthComposite")
    composite.setInput(0, read)
    composite.setInput(1, nuke.toNode("FaceSR_pass2"))
    composite["uncovered"].setValue("copy")
    press(composite, "process")
    layout = DKNode(composite).layout
    assert composite.node("Export_plate")["datatype"].value() == "32 bit float"  # the export follows the plate
    write = nuke.createNode("Write")
    write["file"].setValue(str(tmp_path / "final" / "final.####.exr"))
    write["datatype"].setValue("16 bit half")
    write["create_directories"].setValue(True)
    write.setInput(0, composite)
    with pytest.raises(RuntimeError, match=r"Write1 writes 16-bit half, but the plate is 32-bit float"):
        nuke.execute(write, FRAMES[0], FRAMES[-1])
    write["datatype"].setValue("32 bit float")
    nuke.execute(write, FRAMES[0], FRAMES[-1])
    for f in FRAMES:
        a0 = read_frame(str(plate).replace("####", str(f)))
        final = read_frame(tmp_path / "final" / f"final.{f}.exr")
        mask = read_frame(frame_path(layout.mask, f))
        assert final.pixels.dtype == np.float32 and changed_outside(a0, final, mask) == 0


def test_a_render_shows_the_caches_even_when_the_script_was_saved_before_processing(dubbed):
    node = nuke.toNode("Composite_final")
    node["dk_processed"].setValue(False)  # as a script saved before its nodes ran on the farm
    nuke.execute(nuke.toNode("Write_final"), FRAMES[0], FRAMES[-1])
    assert node["dk_processed"].value() is True
    for f in FRAMES:
        assert same_bits(dubbed / f"final/final.{f}.exr", dubbed.parent / f"dub/final.{f}.exr")


def test_open_report_makes_a_contact_sheet_of_the_cached_result(dubbed, monkeypatch):
    opened = []
    monkeypatch.setattr(buttons, "reveal", opened.append)
    press(nuke.toNode("Composite_pass2"), "open_report")
    assert opened and opened[0].suffix == ".png" and opened[0].stat().st_size > 0
    press(nuke.toNode("Composite_pass2"), "reveal_cache")
    assert opened[1] == dubbed / "dubkernels_cache/Composite_pass2"


def test_an_unprocessed_template_will_not_render(sample):
    root, made = sample
    folder = template_session(root, made, "fresh")
    with pytest.raises(RuntimeError, match=r"Composite_final is not processed"):
        nuke.execute(nuke.toNode("Write_final"), FRAMES[0], FRAMES[-1])
    assert not (folder / "final").exists()


def test_keyed_overrides_on_the_own_mouth_node_become_the_engines_override_text(sample):
    root, made = sample
    template_session(root, made, "overrides")
    node = nuke.toNode("OwnMouth_quicklook")
    node["overrides"].setValue("1001: forbid 1004-1005")
    for name, keys in (("force_close", {1002: 1.0, 1003: 1.0, 1004: 0.0}), ("opening_scale", {1004: 1.5, 1005: 1.5}),
                       ("force_source", {1002: 1004, 1003: 1005})):
        node[name].setAnimated()
        for frame, value in keys.items():
            node[name].setValueAt(value, frame)
    params = DKNode(node).params("own_mouth")
    assert params["overrides"] == ("1001: forbid 1004-1005; 1002-1003: close; 1004-1005: opening 1.5; "
                                   "1002-1003: source 1004")
    assert override_text({}, {1001: 1.0, 1002: 1.004}, {1001: 0.0}) == ""  # resting values: no entry
    assert override_text({}, {}, {1001: 7, 1002: 8, 1003: 3}) == "1001-1002: source 7; 1003: source 3"
    fresh = nuke.createNode("DK_OwnMouth")
    fresh["force_close"].setValue(True)  # set, not keyed: which frames?
    with pytest.raises(PluginError, match="force_close is set but not keyed; key it over the frames"):
        DKNode(fresh).params("own_mouth")


def test_from_report_also_puts_the_dubbed_line_on_the_template_s_audioread(sample, tmp_path):
    root, made = sample
    template_session(root, made, "line")
    switch, line = nuke.toNode("Deliver"), nuke.toNode("Line")
    assert line.Class() == "AudioRead" and line["file"].value() == ""
    report = tmp_path / "work" / "report" / "delivery.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"candidate": "own_mouth", "result": "own", "pinned": False}))
    switch["report"].setValue(str(report))
    switch["from_report"].execute()  # a dub without a line: the AudioRead stays empty
    assert line["file"].value() == ""
    wav = tmp_path / "final" / "final.wav"
    (tmp_path / "work" / "files.json").write_text(json.dumps({"files": {"line": str(wav)}}))
    switch["from_report"].execute()
    assert line["file"].value() == str(wav) and switch["which"].value() == 0


def test_the_deliver_switch_follows_the_shot_reports_choice(sample, tmp_path):
    root, made = sample
    template_session(root, made, "deliver")
    switch = nuke.toNode("Deliver")
    report = tmp_path / "delivery.json"
    report.write_text(json.dumps({"candidate": "pass1", "result": "pass1", "pinned": False}))
    switch["report"].setValue(str(report))
    switch["from_report"].execute()
    assert switch["which"].value() == 1 and "pass1" in switch["label"].value()
    assert DKNode(nuke.toNode("Composite_final")).input_node("face") is nuke.toNode("FaceSR_pass1")
    report.write_text(json.dumps({"candidate": "own_mouth", "result": "own", "pinned": True}))
    switch["from_report"].execute()
    assert DKNode(nuke.toNode("Composite_final")).input_node("face") is nuke.toNode("OwnMouth_quicklook")
    assert DKNode(nuke.toNode("Composite_final")).params("mouth_composite")["chin"] is False
    report.write_text(json.dumps({"candidate": "own_chin", "result": "own_chin", "pinned": False}))
    switch["from_report"].execute()  # the same layer, composited with its drawn chin
    assert switch["which"].value() == 0 and switch["chin"].value() is True
    assert DKNode(nuke.toNode("Composite_final")).input_node("face") is nuke.toNode("OwnMouth_quicklook")
    assert DKNode(nuke.toNode("Composite_final")).params("mouth_composite")["chin"] is True
    report.write_text(json.dumps({"candidate": "paste", "result": "paste", "pinned": True}))
    with pytest.raises(buttons.ButtonError, match="delivers 'paste', not one of the template's candidates"):
        switch["from_report"].execute()
    report.write_text("{")
    with pytest.raises(buttons.ButtonError, match="Deliver: .*delivery.json is not a shot report's delivery.json"):
        switch["from_report"].execute()
    switch["report"].setValue(str(tmp_path / "none.json"))
    with pytest.raises(buttons.ButtonError, match="no report at .*none.json; run `dubkernels dub SHOT.toml`"):
        switch["from_report"].execute()
    assert switch["which"].value() == 0  # a failed look at the report changes nothing


def test_errors_reach_the_compositor_as_nuke_messages_saying_what_to_fix(sample, monkeypatch):
    root, made = sample
    template_session(root, made, "errors", gui=True)
    press(nuke.toNode("PoseAlign1"), "process")
    assert "PoseAlign1: its input 'actor' comes from Analyze_actor, which has no result yet; press Analyze on " \
           "Analyze_actor first." in nuke.state().messages[-1]
    lonely = nuke.createNode("DK_MouthComposite")
    press(lonely, "process")
    assert "MouthComposite1: input 'plate' is not connected" in nuke.state().messages[-1]
    press(nuke.toNode("Swap_pass1"), "process")
    assert "Swap_pass1: its input 'face' comes from PoseAlign1" in nuke.state().messages[-1]
    monkeypatch.delenv("DUBKERNELS_VENV")
    press(nuke.toNode("Analyze_actor"), "process")
    assert "DUBKERNELS_VENV" in nuke.state().messages[-1]
    monkeypatch.setenv("DUBKERNELS_VENV", str(root))
    press(nuke.toNode("Analyze_actor"), "process")
    assert f"DUBKERNELS_VENV={root}: no dubkernels command in it" in nuke.state().messages[-1]
    nuke.root()["name"].setValue("Root")  # an unsaved script
    press(nuke.toNode("Stabilize_pass2"), "process")
    assert "save the script first, or set its cache folder" in nuke.state().messages[-1]


def test_a_duplicated_node_gets_a_cache_of_its_own_and_a_renamed_one_keeps_its(tmp_path):
    new_session()
    nuke.root()["name"].setValue(str(tmp_path / "shot.nk"))
    original = nuke.createNode("DK_IdentitySwap")
    cache = DKNode(original).cache_folder()
    assert cache == tmp_path / "dubkernels_cache" / original.name()
    original["dk_processed"].setValue(True)
    duplicate = nuke.createNode("DK_IdentitySwap")  # Nuke's duplicate: the knobs copied, then onCreate
    for knob in ("cache", "dk_cache_owner", "dk_processed"):
        duplicate[knob].setValue(original[knob].value())
    fake_nuke._fire("onCreate", duplicate)
    assert DKNode(duplicate).cache_folder() == tmp_path / "dubkernels_cache" / duplicate.name() != cache
    assert duplicate["dk_processed"].value() is False  # it shows its input, not the original's frames
    assert DKNode(original).cache_folder() == cache and original["dk_processed"].value() is True
    original["name"].setValue("Swap_hero")  # renamed: its cache (and what it made) stays with it
    assert DKNode(original).cache_folder() == cache and original["dk_cache_owner"].value() == "Swap_hero"


def test_a_dubkernels_node_inside_a_group_is_checked_before_a_render(tmp_path):
    new_session()
    nuke.root()["name"].setValue(str(tmp_path / "shot.nk"))
    read = nuke.createNode("Read")
    group = nuke.createNode("Group")
    group.setInput(0, read)
    with group:
        inner = nuke.createNode("Input")
        composite = nuke.createNode("DK_MouthComposite")
        composite.setInput(0, inner)
        nuke.createNode("Output").setInput(0, composite)
    write = nuke.createNode("Write")
    write.setInput(0, group)
    with pytest.raises(RuntimeError, match=r"DubKernels: MouthComposite1 is not processed .*Fill it with: press "
                                           r"Process on Group1.MouthComposite1"):
        nuke.execute(write, 1001, 1001)


def test_file_knobs_are_read_as_nuke_evaluates_them(tmp_path):
    new_session()
    nuke.root()["name"].setValue(str(tmp_path / "shot.nk"))
    nuke.addFilenameFilter(lambda path: path.replace("/mnt/studio", str(tmp_path / "mapped")))
    node = nuke.createNode("DK_IdentitySwap")
    node["cache"].setValue("/mnt/studio/caches/[value name]")  # a TCL expression and a path the farm maps
    node["init"].setValue("/mnt/studio/models/pre.safetensors")
    dk = DKNode(node)
    assert dk.cache_folder() == tmp_path / "mapped" / "caches" / node.name()
    assert dk.path_value("init") == str(tmp_path / "mapped" / "models" / "pre.safetensors")


NUKE_VARIABLES = {"PYTHONHOME": "/opt/Nuke15.1v2/lib/python3.10", "PYTHONPATH": "/opt/Nuke15.1v2/plugins",
                  "LD_LIBRARY_PATH": "/opt/Nuke15.1v2", "QT_PLUGIN_PATH": "/opt/Nuke15.1v2/plugins/qt"}


def test_the_engine_starts_without_nuke_s_python_and_library_folders(tmp_path, monkeypatch):
    kept = {"OCIO": "/studio/config.ocio", "LC_ALL": "C.UTF-8", "DUBKERNELS_TEST_ENV": str(tmp_path / "env.json"),
            "CUDA_VISIBLE_DEVICES": "1"}
    for name, value in {**NUKE_VARIABLES, **kept}.items():
        monkeypatch.setenv(name, value)
    probe = tmp_path / "engine_probe.py"  # stands in for dubkernels: writes the environment it was started with
    probe.write_text("import json, os\njson.dump(dict(os.environ), open(os.environ['DUBKERNELS_TEST_ENV'], 'w'))\n")
    engine.run_job(tmp_path / "job.json", command=[sys.executable, str(probe)])
    seen = json.loads((tmp_path / "env.json").read_text())
    assert not set(NUKE_VARIABLES) & set(seen)  # a PYTHONHOME of Nuke's would not even let Python start
    assert all(seen[name] == value for name, value in kept.items()) and seen["PATH"] == os.environ["PATH"]


def test_an_engine_of_another_release_is_refused(tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    other = venv / "bin" / "dubkernels"
    other.write_text("#!/bin/sh\necho 'dubkernels 9.9.9'\n")
    other.chmod(0o755)
    monkeypatch.setenv("DUBKERNELS_VENV", str(venv))
    with pytest.raises(engine.EngineError, match=rf"plugin is release {plugin_version()}, but the engine .*dubkernels "
                                                 r"is 9\.9\.9: point DUBKERNELS_VENV at the engine of release"):
        engine.engine_command()
    monkeypatch.setenv("DUBKERNELS_VENV", sys.prefix)
    assert engine.engine_command() == [str(Path(sys.prefix) / "bin" / "dubkernels")]  # this release's engine


def test_in_terminal_mode_a_failing_button_raises_the_engines_error(sample):
    root, made = sample
    template_session(root, made, "terminal")
    nuke.toNode("Read_actor")["file"].setValue(str(root / "nowhere/actor.####.exr"))
    with pytest.raises(Exception, match="nowhere"):
        press(nuke.toNode("Analyze_actor"), "process")


def test_cancel_keeps_only_whole_frames_and_process_again_resumes(sample):
    root, made = sample
    template_session(root, made, "cancel", gui=True)
    for name in ("Analyze_actor", "Analyze_dubber"):
        thread = buttons.press(nuke.toNode(name), "process")
        assert thread is not None
        thread.join()
    node = nuke.toNode("PoseAlign1")
    nuke.state().cancel_when = lambda task: any(m.startswith("pose_align 0/") for m in task.messages)  # at its start
    thread = buttons.press(node, "process")
    assert thread is not None
    thread.join()
    assert "cancelled" in nuke.state().messages[-1]
    out = DKNode(node).layout.out
    kept = frames_on_disk(out)
    assert len(kept) < len(FRAMES)
    for f in kept:
        assert read_frame(frame_path(out, f)).pixels.size > 0  # every frame on disk is whole
    assert not node["dk_processed"].value() and node["info"].value().startswith("state: not processed")
    nuke.state().cancel_when = None
    thread = buttons.press(node, "process")
    assert thread is not None
    thread.join()
    assert frames_on_disk(out) == FRAMES
    summary = json.loads(next(out.parent.glob("out.*.summary.json")).read_text())
    assert summary["frames_skipped"] == len(kept)  # the frames finished before the cancel were kept
    assert node["dk_processed"].value() is True
    assert any(task.progress and task.progress[-1] > 0 for task in nuke.state().tasks)


def test_landmark_fixes_dragged_in_the_viewer_become_overrides_that_analyze_merges(sample):
    root, made = sample
    template_session(root, made, "landmarks")
    node = nuke.toNode("Analyze_actor")
    press(node, "process")
    assert node["lm_flagged"].value() == "no frame flagged"
    track = json.loads(DKNode(node).layout.track.read_text())
    before = {r["frame"]: r["landmarks"] for r in track["records"]}
    height = track["source"]["height"]
    nuke.frame(1002)
    press(node, "lm_key")
    x, y = node["lm_60"].getValueAt(1002, 0), node["lm_60"].getValueAt(1002, 1)
    assert (x, y) == pytest.approx((before[1002][60][0] + 0.5, height - before[1002][60][1] - 0.5))
    node["lm_60"].setValueAt(x + 3.0, 1002, 0)  # the user drags the point 3 px right
    press(node, "lm_save")
    saved = json.loads(DKNode(node).layout.overrides.read_text())
    assert list(saved["frames"]) == ["1002"]
    fixed = saved["frames"]["1002"]["landmarks"]
    assert fixed[60] == pytest.approx([before[1002][60][0] + 3.0, before[1002][60][1]], abs=1e-3)
    assert fixed[10] == pytest.approx(before[1002][10], abs=1e-3)
    assert node["info"].value().startswith("state: stale")
    press(node, "process")
    merged = {r["frame"]: r for r in json.loads(DKNode(node).layout.track.read_text())["records"]}
    assert merged[1002]["flag"] == "user"
    assert merged[1002]["landmarks"][60] == pytest.approx(fixed[60], abs=1e-3)
    assert merged[1001]["landmarks"] == before[1001]


def test_flagged_frames_are_listed_by_reason():
    track = {"records": [{"frame": 1, "flag": "detected", "confidence": 0.9},
                         {"frame": 2, "flag": "interpolated", "confidence": 0.0},
                         {"frame": 3, "flag": "interpolated", "confidence": 0.0},
                         {"frame": 4, "flag": "detected", "confidence": 0.1},
                         {"frame": 5, "flag": "missing", "confidence": 0.0},
                         {"frame": 6, "flag": "user", "confidence": 1.0},
                         {"frame": 7, "flag": "repaired", "confidence": 0.0}]}
    assert landmarks.flagged(track) == {"missing": [5], "interpolated": [2, 3], "repaired": [7],
                                        "low confidence": [4]}


def test_the_menu_lists_every_node_and_pastes_the_template():
    new_session(gui=True)
    menu.build()
    entries = nuke.state().menus
    for title in ("Analyze", "PoseAlign", "OwnMouth", "IdentitySwap", "LandmarkStabilize", "FaceSR",
                  "MouthComposite", "Two-pass dub template"):
        assert ("Nodes", "DubKernels", title) in entries
    menu.load_template()
    assert nuke.toNode("Write_final").input(0) is nuke.toNode("Composite_final")


def test_init_py_works_in_terminal_mode_and_menu_py_needs_the_gui():
    new_session()
    namespace: dict = {}
    exec((PLUGIN / "init.py").read_text(), namespace)
    assert str(REPO / "gizmos") in nuke.state().plugin_paths
    assert nuke.state().callbacks["beforeFrameRender"]
    with pytest.raises(RuntimeError, match="GUI"):
        exec((PLUGIN / "menu.py").read_text(), {})


def test_the_farm_s_way_nuke_prepares_the_engine_trains_and_renders_chunks_nuke_finishes(sample):
    """farm_nuke.py's steps for a node: `dub_process --prepare` (Nuke), `dubkernels run` of the main job (the
    engine: training, the per-frame job in chunks), then the node's whole Process (Nuke)."""
    root, made = sample
    script = _saved_template(root, made, "farmway")
    folder = script.parent
    script.write_text(script.read_text().replace(" name Swap_pass1\n", f" config {root / 'tiny.json'}\n workers 0\n"
                                                                     " name Swap_pass1\n"))
    new_session()
    dub_process, engine_command = _dub_process(), [str(Path(sys.prefix) / "bin" / "dubkernels")]
    for name in ("Analyze_actor", "Analyze_dubber"):
        assert dub_process.main([str(script), "--node", name]) == 0
    cache = folder / "dubkernels_cache"
    assert dub_process.main([str(script), "--node", "PoseAlign1", "--prepare"]) == 0
    assert (cache / "PoseAlign1/jobs/process.json").is_file() and not frames_on_disk(cache / "PoseAlign1/out/out.####.exr")
    for chunk in ("1001-1003", "1004-1005"):
        subprocess.run(engine_command + ["run", str(cache / "PoseAlign1/jobs/process.json"), "--chunk", chunk,
                                         "--progress", "none"], check=True, capture_output=True)
    after = [str(cache / f"PoseAlign1/jobs/{name}.json") for name in after_process("pose_align")]
    assert sorted(p.stem for p in (cache / "PoseAlign1/jobs").glob("*.json")) == sorted(
        ["process", *after_process("pose_align")])  # the farm's step names the jobs the plugin writes
    subprocess.run(engine_command + ["run", *after, "--progress", "none"], check=True, capture_output=True)
    assert (cache / "PoseAlign1/out/out.track.json").is_file()  # tracked by the engine, outside Nuke
    assert dub_process.main([str(script), "--node", "PoseAlign1"]) == 0
    summary = json.loads(next((cache / "PoseAlign1/out").glob("out.1001-1005.summary.json")).read_text())
    assert summary["frames_skipped"] == 5  # Nuke's Process found every frame the engine made
    nuke.scriptOpen(str(script))
    assert buttons.refresh(nuke.toNode("PoseAlign1")).state == "processed"  # recorded: a render takes its cache
    assert dub_process.main([str(script), "--node", "Swap_pass1", "--train", "--prepare"]) == 0
    assert (cache / "Swap_pass1/jobs/train.json").is_file() and not (cache / "Swap_pass1/train/latest.safetensors").exists()
    subprocess.run(engine_command + ["run", str(cache / "Swap_pass1/jobs/train.json"), "--progress", "none"],
                   check=True, capture_output=True)  # the training, outside Nuke
    assert (cache / "Swap_pass1/train/latest.safetensors").is_file()
    assert dub_process.main([str(script), "--node", "Swap_pass1", "--prepare"]) == 0  # its network is there now
    assert (cache / "Swap_pass1/jobs/process.json").is_file()


def test_the_plugin_imports_no_torch_numpy_or_openimageio():
    code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import fake_nuke; sys.modules['nuke'] = fake_nuke\n"
            "import pkgutil, importlib, dubkernels_nuke\n"
            "for m in pkgutil.iter_modules(dubkernels_nuke.__path__): importlib.import_module('dubkernels_nuke.' + m.name)\n"
            "print(sorted(n for n in ('torch', 'numpy', 'OpenImageIO', 'dubkernels', 'cv2') if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(PLUGIN), str(REPO / "tests")], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_engine_crash_shows_its_traceback_end_not_just_its_first_line():
    said = ["Traceback (most recent call last):", '  File "x.py", line 1, in <module>', "ZeroDivisionError: division by zero"]
    text = engine.RunResult(1, said=said).error_text()
    assert text.startswith("dubkernels crashed") and text.endswith("ZeroDivisionError: division by zero")


def test_engine_progress_lines_and_errors_are_read():
    event = engine.parse_event('{"event": "progress", "step": "face_sr", "done": 3, "total": 4, "frame": 1003}')
    assert event is not None and (event.step, event.percent, event.frame) == ("face_sr", 75, 1003)
    assert engine.parse_event("dubkernels run: error: no frames") is None
    result = engine.RunResult(2, said=["loading", "dubkernels run: error: plates/a.####.exr: frame 1004 is missing"])
    assert result.error_text() == "dubkernels run: error: plates/a.####.exr: frame 1004 is missing"


def test_dub_process_run_with_plain_python_says_to_run_it_inside_nuke(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "dub_process.py"), str(tmp_path / "shot.nk"),
                           "--node", "Swap_pass1"], capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "dub_process.py runs inside Nuke: nuke -t scripts/dub_process.py SHOT.nk --node NAME" in done.stderr


def _saved_template(root: Path, made, name: str) -> Path:
    """The template saved as root/NAME/shot.nk with its Reads on the sample: a script for `nuke -t`."""
    folder = root / name
    folder.mkdir()
    text = TEMPLATE_FILE.read_text()
    for read, pattern in (("Read_actor", made.actor), ("Read_dubber", made.dubber)):
        text = text.replace(f" name {read}\n", f" file {pattern}\n first {FRAMES[0]}\n last {FRAMES[-1]}\n name {read}\n")
    (folder / "shot.nk").write_text(text)
    return folder / "shot.nk"


def _dub_process():
    spec = importlib.util.spec_from_file_location("dub_process", REPO / "scripts" / "dub_process.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dub_process_runs_a_nodes_buttons_headless_and_a_chunk_then_the_rest(sample, capsys):
    """`nuke -t scripts/dub_process.py shot.nk --node N [--frames a-b]`, the farm's way to press a button."""
    root, made = sample
    script = _saved_template(root, made, "headless")
    folder = script.parent
    new_session()
    dub_process = _dub_process()
    for name in ("Analyze_actor", "Analyze_dubber"):
        assert dub_process.main([str(script), "--node", name]) == 0
    assert dub_process.main([str(script), "--node", "PoseAlign1", "--frames", "1001-1002"]) == 0
    out = folder / "dubkernels_cache/PoseAlign1/out"
    assert frames_on_disk(out / "out.####.exr") == [1001, 1002] and not (out / "out.track.json").exists()
    assert dub_process.main([str(script), "--node", "PoseAlign1"]) == 0
    assert frames_on_disk(out / "out.####.exr") == FRAMES and (out / "out.track.json").is_file()
    summary = json.loads(next(out.glob("out.1001-1005.summary.json")).read_text())
    assert summary["frames_skipped"] == 2
    assert dub_process.main([str(script), "--node", "Swap_pass1"]) == 1
    assert "Swap_pass1: no trained network" in capsys.readouterr().err
    assert dub_process.main([str(script), "--node", "Nobody"]) == 1
    assert "no DubKernels node named Nobody" in capsys.readouterr().err
    assert dub_process.main([str(folder / "missing.nk"), "--node", "PoseAlign1"]) == 1
    assert "cannot open" in capsys.readouterr().err
    buttons.stop_requested.set()  # what dub_process's SIGTERM handler does when the farm cancels the task
    try:
        assert dub_process.main([str(script), "--node", "PoseAlign1"]) == 1
    finally:
        buttons.stop_requested.clear()
    assert "PoseAlign1: cancelled" in capsys.readouterr().err
