"""Shot files and the dub graph: template, overrides, clear errors, the paper's two-pass chain."""
from __future__ import annotations

import pytest

from dubkernels.cli.main import main
from dubkernels.errors import EXIT_USER_ERROR
from dubkernels.pipeline.graph import build_graph
from dubkernels.pipeline.shot import ShotError, load_shot, parse_value, template


def _write(tmp_path, text: str):
    path = tmp_path / "shot.toml"
    path.write_text(text)
    return path


def test_the_template_is_a_valid_shot_file_with_every_key(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["dub", "--template", str(tmp_path / "shot.toml"), "--actor", "a.mov", "--dubber", "d.####.exr"]) == 0
    shot = load_shot(tmp_path / "shot.toml")
    assert shot.actor.source == str(tmp_path / "a.mov") and shot.actor.is_video
    assert shot.dubber.source == str(tmp_path / "d.####.exr") and not shot.dubber.is_video
    assert shot.work == tmp_path / "work" and shot.output == str(tmp_path / "final" / "final.####.exr")
    assert shot.train.preset == "preview" and shot.device == "auto"
    text = (tmp_path / "shot.toml").read_text()
    for key in ("[mouth_composite]", "# grow = 0.15", "# min_cutoff = 1.0", "minutes = 0.0"):
        assert key in text
    assert main(["dub", "--template", str(tmp_path / "shot.toml")]) == EXIT_USER_ERROR  # never overwritten
    assert "exists" in capsys.readouterr().err


def test_overrides_and_stage_sections(tmp_path):
    path = _write(tmp_path, template("a.####.exr", "d.####.exr") + "\n[mouth_composite]\ngrow = 0.3\n")
    shot = load_shot(path, ["train.minutes=5", "mouth_composite.blend=poisson", "shot.frames='1001-1010'"])
    assert shot.train.minutes == 5.0 and shot.frames == "1001-1010"
    assert shot.stages["mouth_composite"] == {"grow": 0.3, "blend": "poisson"}
    assert parse_value("true") is True and parse_value("1.5") == 1.5 and parse_value("plain text") == "plain text"
    tuned = load_shot(path, ["own_mouth.follow=0.25", "face_sr.batch=2", "train.learned=on"])
    graph = build_graph(tuned)
    assert graph.step("own_mouth").job.params["follow"] == 0.25
    assert graph.step("sr_pass2").job.params["batch"] == 2


@pytest.mark.parametrize("extra, message", [
    ("[train]\nminuts = 3\n", r"unknown key train.minuts; \[train\] takes: preset, iterations, minutes"),
    ("[renders]\nx = 1\n", r"unknown section \[renders\]; valid sections and keys: \[shot\] name"),
    ("[mouth_composite]\ngrow = 9.0\n", "grow=9.0 is out of range"),
    ("[mouth_composite]\nuncovered = 'copy'\n", "unknown key mouth_composite.uncovered"),
    ("[train]\nminutes = 'ten'\n", "train.minutes = 'ten' should be a number"),
    ("[train]\npreset = 'papper'\n", r"train.preset = 'papper' is neither a preset \(paper, preview\) nor a config "),
    ("[train]\nsr_preset = 'face_sr_papper'\n", r"train.sr_preset = 'face_sr_papper' is neither a FaceSR preset"),
])
def test_bad_keys_and_values_are_clear(tmp_path, extra, message):
    path = _write(tmp_path, "[actor]\nsource = 'a.####.exr'\n[dubber]\nsource = 'd.mov'\n" + extra)
    with pytest.raises(ShotError, match=message):
        load_shot(path)


def test_missing_takes_and_files(tmp_path):
    with pytest.raises(ShotError, match="shot file .*none.toml not found; write one with `dubkernels dub --template"):
        load_shot(tmp_path / "none.toml")
    with pytest.raises(ShotError, match=r"\[dubber\] needs a source"):
        load_shot(_write(tmp_path, "[actor]\nsource = 'a.####.exr'\n"))
    with pytest.raises(ShotError, match="not valid TOML"):
        load_shot(_write(tmp_path, "[actor\n"))
    with pytest.raises(ShotError, match=r"\[actor\] source = 'still.jpg' is one file, not a take: a take is a video"):
        load_shot(_write(tmp_path, "[actor]\nsource = 'still.jpg'\n[dubber]\nsource = 'd.mov'\n"))
    with pytest.raises(ShotError, match="must look like section.key=value"):
        load_shot(_write(tmp_path, template("a.mov", "d.mov")), ["minutes=3"])


def test_the_graph_is_the_papers_two_pass_chain(tmp_path):
    shot = load_shot(_write(tmp_path, template("a.mov", "d.####.exr")), ["train.init='pre.safetensors'",
                                                                         "train.learned=on"])
    graph = build_graph(shot)
    names = graph.names
    assert names[:3] == ["ingest_actor", "analyze_actor", "analyze_dubber"]  # the dubber is EXRs already
    assert names.index("pose_align") < names.index("train_pass1") < names.index("swap_pass1") \
        < names.index("stabilize_pass1") < names.index("composite_pass1") < names.index("train_pass2") \
        < names.index("composite_pass2")
    train2 = graph.step("train_pass2").job
    assert train2.inputs["dubber"] == graph.step("composite_own").job.outputs["out"]  # on a CPU: the own mouth
    assert graph.step("swap_pass2").job.inputs["face"] == train2.inputs["dubber"]
    for changes in (["train.preset=paper"], ["train.pass2_from=pass1", "train.learned=on"]):  # the paper's chain:
        paper = build_graph(load_shot(_write(tmp_path, template("a.mov", "d.####.exr")), changes))  # pass 2 on pass 1
        assert paper.step("train_pass2").job.inputs["dubber"] == paper.step("composite_pass1").job.outputs["out"]
        assert paper.step("swap_pass2").job.inputs["face"] == paper.step("composite_pass1").job.outputs["out"]
    with pytest.raises(ShotError, match="train.pass2_from = 'pass3'; choose one of auto, own_mouth, pass1"):
        load_shot(_write(tmp_path, template("a.mov", "d.####.exr")), ["train.pass2_from=pass3"])
    assert train2.inputs["actor"] == graph.step("ingest_actor").job.outputs["out"]  # A0
    assert train2.inputs["init"] == str(tmp_path / "work" / "pass1" / "train" / "latest.safetensors")
    assert graph.step("train_pass1").job.inputs["init"] == str(tmp_path / "pre.safetensors")
    pass2 = graph.step("composite_pass2").job
    assert pass2.inputs["actor"] == train2.inputs["actor"] and pass2.params["extent"] == "face"
    assert pass2.inputs["face"] == graph.step("sr_pass2").job.outputs["out"]  # the sharpened face
    for result, step in (("own", "composite_own"), ("own_chin", "composite_own_chin"), ("pass1", "composite_pass1"),
                         ("pass2", "composite_pass2")):
        delivery = graph.deliveries[result]  # each candidate's composite, over the whole plate, into the output
        assert delivery.outputs["out"] == shot.output and delivery.params["extent"] == "plate"
        assert delivery.inputs == graph.step(step).job.inputs
        assert {**delivery.params, "extent": "face"} == graph.step(step).job.params
    sr = graph.step("sr_pass2").job
    assert sr.inputs["face"] == graph.step("stabilize_pass2").job.outputs["out"]
    assert sr.inputs["checkpoint"] == str(tmp_path / "work" / "face_sr" / "train" / "latest.safetensors")
    train_sr = graph.step("train_sr").job
    assert train_sr.params["config"] == "face_sr_preview"  # the preset's FaceSR
    assert train_sr.inputs["swap_checkpoint"] == str(tmp_path / "work" / "pass1" / "train" / "latest.safetensors")
    off = build_graph(load_shot(_write(tmp_path, template("a.mov", "d.####.exr")), ["train.face_sr=false",
                                                                                     "train.learned=on"]))
    assert not any(n.startswith(("sr_", "train_sr")) for n in off.names)
    assert off.step("composite_pass2").job.inputs["face"] == off.step("stabilize_pass2").job.outputs["out"]
    assert "swap_pass1" in graph.step("analyze_swap_pass1").needs
    assert graph.step("analyze_swap_pass1").job.inputs["guide"] == graph.step("swap_pass1").job.inputs["face_track"]
    paste = graph.step("composite_paste").job
    assert paste.inputs["face"] == graph.step("pose_align").job.outputs["out"]
    own, own_chin = graph.step("composite_own").job, graph.step("composite_own_chin").job  # the own mouth twice:
    assert "chin" not in own.params and own_chin.params["chin"] is True  # with the plate's chin, with the drawn one
    assert own_chin.inputs == own.inputs and own_chin.outputs["out"] != own.outputs["out"]
    assert graph.deliveries["own_chin"].params["chin"] is True and "chin" not in graph.deliveries["own"].params
    assert "chin" not in graph.step("composite_paste").job.params
    assert {"analyze_own_comp", "analyze_own_chin_comp"} <= set(graph.quick_look)
    assert not {n for n in graph.quick_look if "pass" in n}  # a quick look trains nothing
    plain = build_graph(load_shot(_write(tmp_path, template("a.mov", "d.####.exr")), ["own_mouth.chin=false"]))
    assert "composite_own_chin" not in plain.names and "own_chin" not in plain.deliveries  # no jaw band: one way
    assert "analyze_own_comp" in plain.quick_look
    with pytest.raises(ShotError, match="own_chin. needs the own mouth's jaw band: remove own_mouth.chin = false"):
        load_shot(_write(tmp_path, template("a.mov", "d.####.exr")), ["own_mouth.chin=false", "shot.deliver=own_chin"])
    for step in graph.steps:
        for path in step.job.outputs.values():
            assert path.startswith(str(shot.work))  # only a delivery writes the shot's output


def test_with_the_cpu_preset_the_dub_is_the_own_mouth_and_the_learned_passes_are_asked_for(tmp_path):
    path = _write(tmp_path, template("a.mov", "d.####.exr"))
    graph = build_graph(load_shot(path))  # the preview preset: the learned passes measured below the own mouth
    assert not [n for n in graph.names if n.startswith(("train", "swap", "sr_", "stabilize", "composite_pass"))]
    assert "pose_align_actor" not in graph.names and set(graph.deliveries) == {"own", "own_chin"}
    assert not {"pass1", "pass2"} & set(graph.files)
    assert "train_pass2" in build_graph(load_shot(path, ["train.learned=on"])).names
    assert "train_pass2" in build_graph(load_shot(path, ["train.preset=paper"])).names
    assert "train_pass1" not in build_graph(load_shot(path, ["train.preset=paper", "train.learned=off"])).names
    with pytest.raises(ShotError, match="shot.deliver = 'pass2' needs the learned passes, which are off"):
        load_shot(path, ["shot.deliver=pass2"])
    with pytest.raises(ShotError, match="train.learned = 'yes'; choose one of auto, on, off"):
        load_shot(path, ["train.learned=yes"])


def test_the_demo_writes_a_shot_file_that_dub_goes_on_with(tmp_path):
    from dubkernels.demo import demo_shot

    shot, extra = demo_shot(tmp_path / "demo", 4, 1001, actor="a.mov", dubber="d.mov", minutes=2.0)
    assert extra == {}  # clips given: no sample truth
    again = load_shot(tmp_path / "demo" / "shot.toml")
    assert (again.work, again.output, again.train.minutes, again.name) == (
        tmp_path / "demo" / "work", str(tmp_path / "demo" / "final" / "final.####.exr"), 2.0, "demo")
    assert again.actor.source.endswith("a.mov") and shot.work == again.work


def test_template_takes_are_given_from_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["dub", "--template", "shots/s.toml", "--actor", "plates/a.####.exr", "--dubber", "d.mov"]) == 0
    shot = load_shot(tmp_path / "shots" / "s.toml")
    assert shot.actor.source == str(tmp_path / "plates" / "a.####.exr")
    assert shot.dubber.source == str(tmp_path / "d.mov")


def test_a_custom_network_preset_needs_its_face_sr_preset(tmp_path):
    path = _write(tmp_path, template("a.mov", "d.####.exr"))
    (tmp_path / "my_net.json").write_text("{}")
    (tmp_path / "my_sr.json").write_text("{}")
    with pytest.raises(ShotError, match="set train.sr_preset to a FaceSR config of the same input size"):
        load_shot(path, ["train.preset='my_net.json'"])
    shot = load_shot(path, ["train.preset='my_net.json'", "train.sr_preset='my_sr.json'"])
    assert shot.train.sr_preset == str(tmp_path / "my_sr.json")
    assert load_shot(path, ["train.preset='my_net.json'", "train.face_sr=false"]).train.face_sr is False


def test_the_demo_folder_can_move_with_its_sample(tmp_path):
    import shutil

    from dubkernels.demo import demo_shot

    demo_shot(tmp_path / "demo", 3, 1001)  # the demo's own sample, written inside the demo folder
    text = (tmp_path / "demo" / "shot.toml").read_text()
    assert 'source = "sample/actor/' in text and str(tmp_path) not in text
    shutil.move(str(tmp_path / "demo"), str(tmp_path / "moved"))
    moved = load_shot(tmp_path / "moved" / "shot.toml")
    assert moved.actor.source.startswith(str(tmp_path / "moved" / "sample")) and moved.work == tmp_path / "moved" / "work"
