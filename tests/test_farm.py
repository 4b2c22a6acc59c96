"""`dubkernels farm`: the shot's job graph as an Open Job Description bundle (checked with `openjd check` and
run for real with `openjd run`, its frames equal to `dubkernels dub`'s) and as Deadline 10 job files (parsed,
submitted through a stand-in deadlinecommand); chunks rerun alone; training pre-empted by SIGTERM resumes."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from safetensors.torch import load_file

from dubkernels.cli.main import main
from dubkernels.farm.openjd import range_expression
from dubkernels.farm.plan import FarmError, plan_farm
from dubkernels.farm.roots import rooted, shot_roots
from dubkernels.jobs.spec import Job, save_job
from dubkernels.pipeline.dub import dub_shot
from dubkernels.pipeline.shot import load_shot
from tests.conftest import REPO, same_bits
from tests.stage_data import make_shot
from tests.tiny_nets import TINY, tiny_sample, tiny_shot_text

TEMPLATE_FILE = REPO / "nuke_plugin" / "templates" / "two_pass_dub.nk"

FRAMES = list(range(1001, 1006))
OPENJD = str(Path(sys.executable).parent / "openjd")


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """The sample shot dubbed by `dubkernels dub`, and a second shot file for the farm (its own work folder)."""
    root, made = tiny_sample(tmp_path_factory.mktemp("farm"), len(FRAMES))
    (root / "dub.toml").write_text(tiny_shot_text(root, made.actor, made.dubber, "dub/work", "dub/final.####.exr"))
    (root / "farm.toml").write_text(tiny_shot_text(root, made.actor, made.dubber, "farm/work", "farm/final.####.exr"))
    dub_shot(load_shot(root / "dub.toml"), log=lambda *a: None)
    return root


@pytest.fixture(scope="module")
def bundle(shots):
    assert main(["farm", str(shots / "farm.toml"), "--to", "openjd", str(shots / "bundle"), "--chunk", "3"]) == 0
    return shots / "bundle"


@pytest.fixture(scope="module")
def moved(bundle):
    """The shot's roots moved after the bundle was written (the takes, the work folder the farm wrote its job specs
    into, the output's folder), and an OpenJD path-mapping rules file that maps them, as another host's mounts."""
    root = bundle.parent
    shutil.copytree(root / "sample", root / "elsewhere" / "sample")
    shutil.move(root / "farm", root / "elsewhere" / "farm")
    rules = {"version": "pathmapping-1.0", "path_mapping_rules": [
        {"source_path_format": "POSIX", "source_path": str(root / name), "destination_path": str(root / "elsewhere" /
                                                                                                 name)}
        for name in ("sample", "farm")]}
    (root / "rules.json").write_text(json.dumps(rules))
    return root / "elsewhere", f"file://{root / 'rules.json'}"


@pytest.fixture(scope="module")
def ran(bundle, moved):
    """`openjd run` of the whole job, every step in dependency order, for real, on the moved roots."""
    elsewhere, rules = moved
    done = subprocess.run([OPENJD, "run", str(bundle / "template.yaml"), "--run-dependencies", "--step", "deliver",
                           "--job-param", f"file://{bundle / 'job_parameters.yaml'}", "--path-mapping-rules", rules],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return elsewhere, done.stdout


def _key_values(path: Path) -> dict[str, str]:
    """A Deadline job or plugin info file."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_the_bundle_passes_openjd_check_and_chunks_per_frame_steps(bundle):
    done = subprocess.run([OPENJD, "check", str(bundle / "template.yaml")], capture_output=True, text=True)
    assert done.returncode == 0 and "passes validation" in done.stdout, done.stdout + done.stderr
    template = yaml.safe_load((bundle / "template.yaml").read_text())
    assert template["specificationVersion"] == "jobtemplate-2023-09" and template["extensions"] == ["TASK_CHUNKING"]
    steps = {s["name"]: s for s in template["steps"]}
    names = list(steps)
    for name, step in steps.items():  # dependency order: every step after what it needs
        for need in step.get("dependencies", []):
            assert names.index(need["dependsOn"]) < names.index(name)
    chunk = steps["composite_pass2"]["parameterSpace"]["taskParameterDefinitions"][0]
    assert chunk["type"] == "CHUNK[INT]" and chunk["chunks"]["rangeConstraint"] == "CONTIGUOUS"
    assert steps["composite_pass2"]["script"]["actions"]["onRun"]["args"][-2:] == ["--chunk", "{{Task.Param.Frames}}"]
    assert "parameterSpace" not in steps["analyze_actor"] and "parameterSpace" not in steps["train_pass1"]
    for name in ("train_pass1", "train_sr", "train_pass2"):
        assert steps[name]["hostRequirements"] == {"amounts": [{"name": "amount.worker.gpu", "min": 1}]}
    assert "hostRequirements" in steps["swap_pass1"] and "hostRequirements" in steps["sr_pass2"]  # device auto
    assert "hostRequirements" not in steps["composite_pass1"]
    assert steps["report"]["script"]["actions"]["onRun"]["args"][0] == "report"
    deliver = steps["deliver"]  # the candidate the report chose, over the whole plate, in chunks
    assert names[-1] == "deliver" and deliver["dependencies"] == [{"dependsOn": "report"}]
    assert deliver["script"]["actions"]["onRun"]["args"][:2] == ["deliver", "{{Param.WorkDir}}"]
    assert deliver["parameterSpace"]["taskParameterDefinitions"][0]["type"] == "CHUNK[INT]"
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    assert params["Frames"]["default"] == "1001-1005" and params["ChunkSize"]["default"] == 3
    roots = {name: p["dataFlow"] for name, p in params.items() if p["type"] == "PATH"}
    assert roots == {"WorkDir": "INOUT", "ActorDir": "IN", "DubberDir": "IN", "OutputDir": "OUT"}
    assert steps["swap_pass1"]["script"]["actions"]["onRun"]["args"][:2] == ["run", "{{Param.WorkDir}}/jobs/"
                                                                                    "swap_pass1.json"]
    variables = template["jobEnvironments"][0]["variables"]
    assert variables["DUBKERNELS_ROOT_ACTOR"] == "{{Param.ActorDir}}"
    spec = json.loads((bundle.parent / "farm" / "work" / "jobs" / "composite_pass1.json").read_text())
    assert spec["inputs"]["actor"] == "${DUBKERNELS_ROOT_ACTOR}/actor.####.exr"  # no absolute path in the specs
    assert spec["outputs"]["out"] == "../pass1/comp/comp.####.exr"
    values = {v["name"]: v["value"] for v in yaml.safe_load((bundle / "parameter_values.yaml").read_text())[
        "parameterValues"]}
    assert values == {"ChunkSize": 3, "WorkDir": str(bundle.parent / "farm" / "work"),
                      "ActorDir": str(bundle.parent / "sample" / "actor"),
                      "DubberDir": str(bundle.parent / "sample" / "dubber"), "OutputDir": str(bundle.parent / "farm")}
    assert yaml.safe_load((bundle / "job_parameters.yaml").read_text()) == {k: v for k, v in values.items()
                                                                             if k != "ChunkSize"}


def test_steps_reading_a_checkpoint_wait_for_the_training_that_writes_it(shots):
    plan = plan_farm(load_shot(shots / "farm.toml"))
    needs = {s.name: set(s.needs) for s in plan.steps}
    assert "train_pass1" in needs["swap_pass1"] and "train_pass1" in needs["train_sr"]
    assert "train_pass1" in needs["train_pass2"] and "train_pass2" in needs["swap_pass2"]
    assert "train_sr" in needs["sr_pass1"] and "train_sr" in needs["sr_pass2"]


def test_openjd_run_with_its_roots_mapped_elsewhere_dubs_the_shot_with_the_frames_of_dub(ran, shots):
    elsewhere, log = ran
    for f in FRAMES:
        assert same_bits(elsewhere / f"farm/final.{f}.exr", shots / f"dub/final.{f}.exr"), f"frame {f}"
    assert (elsewhere / "farm/work/report/metrics.json").is_file()
    assert not (shots / "farm").exists()  # nothing written where the roots were
    assert "Chunks run: " in log


def test_a_failed_chunk_reruns_alone_and_a_chunk_run_twice_gives_the_same_frames(ran, moved, bundle):
    root, _ = ran
    frames = [root / f"farm/final.{f}.exr" for f in (1001, 1002, 1003)]
    before = [p.read_bytes() for p in frames]
    frames[1].unlink()  # a worker died mid-chunk
    chunk = [OPENJD, "run", str(bundle / "template.yaml"), "--step", "deliver", "--no-run-dependencies",
             "--task-param", "Frames=1001-1003", "--job-param", f"file://{bundle / 'job_parameters.yaml'}",
             "--path-mapping-rules", moved[1]]
    for _ in range(2):
        done = subprocess.run(chunk, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:]
        assert [p.read_bytes() for p in frames] == before


def test_deadline_job_files_chunk_frames_route_training_to_gpus_and_submit_in_order(shots, tmp_path):
    out = tmp_path / "deadline"
    assert main(["farm", str(shots / "farm.toml"), "--to", "deadline", str(out), "--chunk", "2",
                 "--gpu-group", "cuda", "--pool", "dub"]) == 0
    jobs = json.loads((out / "jobs.json").read_text())["jobs"]

    def read(name: str) -> dict[str, str]:
        return _key_values(out / name)

    by_name = {job["name"]: job for job in jobs}
    comp, comp_plugin = read(by_name["composite_pass2"]["job_info"]), read(by_name["composite_pass2"]["plugin_info"])
    assert (comp["Plugin"], comp["Frames"], comp["ChunkSize"], comp["Pool"]) == ("CommandLine", "1001-1005", "2", "dub")
    environment = dict(v.split("=", 1) for k, v in comp.items() if k.startswith("EnvironmentKeyValue"))
    assert "Group" not in comp and "OCIO" in environment
    assert environment["DUBKERNELS_ROOT_ACTOR"] == str(shots / "sample" / "actor")
    assert comp_plugin["Executable"] == str(Path(sys.executable).parent / "dubkernels")
    assert comp_plugin["Arguments"].endswith("composite_pass2.json --progress none --chunk <STARTFRAME>-<ENDFRAME>")
    train = read(by_name["train_pass1"]["job_info"])
    assert (train["Frames"], train["ChunkSize"], train["Group"]) == ("0", "1", "cuda")
    names = [job["name"] for job in jobs]
    assert names[-2:] == ["report", "deliver"]
    assert read(by_name["deliver"]["plugin_info"])["Arguments"].endswith("--chunk <STARTFRAME>-<ENDFRAME>")
    fake = tmp_path / "deadlinecommand"  # a stand-in that records each submission and answers with an ID
    fake.write_text(f"#!{sys.executable}\nimport sys, pathlib\nlog = pathlib.Path(sys.argv[0]).with_suffix('.log')\n"
                    "n = len(log.read_text().splitlines()) if log.exists() else 0\n"
                    "log.open('a').write(sys.argv[1] + '\\n')\nprint('Result=Success')\nprint(f'JobID=id{n}')\n")
    fake.chmod(0o755)
    done = subprocess.run([sys.executable, str(out / "submit.py"), str(fake)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ids = json.loads((out / "submitted.json").read_text())
    assert list(ids) == names
    calls = fake.with_suffix(".log").read_text().count("\n")
    again = subprocess.run([sys.executable, str(out / "submit.py"), str(fake)], capture_output=True, text=True)
    assert again.returncode == 0 and fake.with_suffix(".log").read_text().count("\n") == calls  # nothing twice
    for job in jobs:
        submitted = read(f"submitted/{job['job_info']}")
        wanted = ",".join(ids[n] for n in job["needs"])
        assert submitted.get("JobDependencies", "") == wanted, job["name"]


def test_farm_refuses_a_relative_engine_path(shots, capsys):
    assert main(["farm", str(shots / "farm.toml"), "--to", "openjd", str(shots / "x"), "--engine", "bin/dubkernels"]) == 2
    assert "is relative" in capsys.readouterr().err
    with pytest.raises(FarmError, match="relative"):
        plan_farm(load_shot(shots / "farm.toml"), "dubkernels")


def test_training_preempted_by_sigterm_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    shot = make_shot(tmp_path / "shot", frames=3)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**TINY, "train": {**TINY["train"], "iterations": 12}}))

    def job_file(name: str) -> Path:
        job = Job("train", {"actor": shot.actor, "actor_track": shot.actor_track, "dubber": shot.dubber,
                            "dubber_track": shot.dubber_track}, {"out": str(tmp_path / name)},
                  params={"config": str(config), "workers": 0, "device": "cpu"})
        save_job(job, tmp_path / f"{name}.json")
        return tmp_path / f"{name}.json"

    engine = [sys.executable, "-m", "dubkernels.cli.main", "run"]
    straight = subprocess.run(engine + [str(job_file("straight"))], capture_output=True, text=True, cwd=REPO)
    assert straight.returncode == 0, straight.stderr
    task = job_file("preempted")
    process = subprocess.Popen(engine + [str(task)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    log = tmp_path / "preempted" / "loss.jsonl"
    deadline = time.monotonic() + 120
    while not log.is_file() or log.read_text().count("\n") < 3:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)  # the farm pre-empts the task
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert log.read_text().count("\n") < 12
    again = subprocess.run(engine + [str(task)], capture_output=True, text=True, cwd=REPO)  # the next attempt
    assert again.returncode == 0, again.stderr
    a = load_file(tmp_path / "straight" / "latest.safetensors")
    b = load_file(tmp_path / "preempted" / "latest.safetensors")
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)


def _nuke_script(tmp_path: Path) -> Path:
    """The template as Nuke saves it, its Reads on plates and its Write on an output."""
    text = TEMPLATE_FILE.read_text()
    for read, plate in (("Read_actor", "/show/sh010/plates/a0/a0.####.exr"),
                        ("Read_dubber", "/show/sh010/plates/d0/d0.####.exr")):
        text = text.replace(f' file ""\n raw true\n label', f' file "{plate}"\n raw true\n label', 1)
    text = text.replace('Write {\n inputs 1\n file ""', 'Write {\n inputs 1\n file "/show/sh010/final/f.####.exr"')
    script = tmp_path / "shot.nk"
    script.write_text("#! /opt/Nuke13.2v5/libnuke-13.2.5.so -nx\n" + text)
    return script


def test_a_nuke_scripts_job_keeps_nuke_to_exports_and_renders_and_runs_the_engine_s_work_without_it(tmp_path):
    script = _nuke_script(tmp_path)
    nuke = "/opt/Nuke14.0v5/Nuke14.0"
    for to in ("openjd", "deadline"):
        done = subprocess.run([sys.executable, "scripts/farm_nuke.py", str(script), "--to", to, str(tmp_path / to),
                               "--nuke", nuke, "--frames", "1001-1005", "--chunk", "2"], cwd=REPO,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "Nuke version: 14.0 (from --nuke)" in done.stdout  # not the script header's 13.2
    check = subprocess.run([OPENJD, "check", str(tmp_path / "openjd/template.yaml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    template = yaml.safe_load((tmp_path / "openjd/template.yaml").read_text())
    steps = {s["name"]: s for s in template["steps"]}
    needs = {name: {d["dependsOn"] for d in step.get("dependencies", [])} for name, step in steps.items()}
    assert list(steps)[:2] == ["Analyze_actor", "Analyze_dubber"] and list(steps)[-1] == "render"
    assert needs["PoseAlign1_jobs"] == {"Analyze_actor", "Analyze_dubber"}
    assert needs["Swap_pass1_train_jobs"] == {"PoseAlign1", "Analyze_actor"}  # through the Dots of the actor column
    assert needs["Swap_pass1_train"] == {"Swap_pass1_train_jobs"}
    assert needs["Swap_pass1_jobs"] == {"PoseAlign1", "Analyze_actor", "Swap_pass1_train"}
    assert needs["Swap_pass1_frames"] == {"Swap_pass1_jobs"} and needs["Swap_pass1_after"] == {"Swap_pass1_frames"}
    assert needs["Swap_pass1"] == {"Swap_pass1_after"}
    assert steps["PoseAlign1_after"]["script"]["actions"]["onRun"]["args"][:4] == [
        "run", *(str(tmp_path / "dubkernels_cache/PoseAlign1/jobs" / f"{j}.json") for j in ("analyze_out",
                                                                                             "actor_render",
                                                                                             "analyze_actor_render"))]
    assert "FaceSR_pass2_train" not in steps and "FaceSR_pass1_train" in needs["FaceSR_pass2_jobs"]
    assert needs["Swap_pass2_train_jobs"] == {"OwnMouth_comp", "Analyze_actor", "Swap_pass1_train"}
    assert needs["render"] == {"Composite_final"}
    cache = tmp_path / "dubkernels_cache"
    train = steps["Swap_pass2_train"]  # the training: the engine on a GPU host, no Nuke
    assert train["hostRequirements"]["amounts"][0]["name"] == "amount.worker.gpu"
    assert train["script"]["actions"]["onRun"]["command"] == "{{Param.Dubkernels}}"
    assert train["script"]["actions"]["onRun"]["args"][:2] == ["run", str(cache / "Swap_pass2/jobs/train.json")]
    frames = steps["Swap_pass1_frames"]  # per-frame inference: the engine in chunks, on a GPU (device auto)
    assert frames["script"]["actions"]["onRun"]["args"] == ["run", str(cache / "Swap_pass1/jobs/process.json"),
                                                            "--progress", "none", "--chunk", "{{Task.Param.Frames}}"]
    assert frames["parameterSpace"]["taskParameterDefinitions"][0]["type"] == "CHUNK[INT]"
    assert "hostRequirements" in frames and "hostRequirements" in steps["FaceSR_pass1_frames"]
    assert "hostRequirements" not in steps["Stabilize_pass1_frames"]
    nuke_steps = [name for name, step in steps.items() if step["script"]["actions"]["onRun"]["command"] ==
                  "{{Param.Engine}}"]
    assert not any(name.endswith(("_train", "_frames", "_after")) for name in nuke_steps)  # no engine work in Nuke
    run = steps["Stabilize_pass1_jobs"]["script"]["actions"]["onRun"]
    assert run["args"] == ["-t", str(REPO / "scripts/dub_process.py"), str(script), "--node", "Stabilize_pass1",
                           "--prepare"]
    render = steps["render"]
    assert render["script"]["actions"]["onRun"]["args"] == ["-x", "-X", "Write_final", "-F", "{{Task.Param.Frames}}",
                                                            str(script)]
    assert render["parameterSpace"]["taskParameterDefinitions"][0]["type"] == "CHUNK[INT]"
    variables = template["jobEnvironments"][0]["variables"]
    assert variables["NUKE_PATH"] == str(REPO / "nuke_plugin") and variables["DUBKERNELS_VENV"]
    params = {p["name"]: p["default"] for p in template["parameterDefinitions"]}
    assert params["Engine"] == nuke and params["Dubkernels"].endswith("/bin/dubkernels")
    jobs = {j["name"]: j for j in json.loads((tmp_path / "deadline/jobs.json").read_text())["jobs"]}

    def read(name: str) -> dict[str, str]:
        return _key_values(tmp_path / "deadline" / name)

    info, plugin = read(jobs["render"]["job_info"]), read(jobs["render"]["plugin_info"])
    assert (info["Plugin"], info["Frames"], info["ChunkSize"]) == ("Nuke", "1001-1005", "2")
    assert (plugin["SceneFile"], plugin["WriteNode"], plugin["Version"]) == (str(script), "Write_final", "14.0")
    node_plugin = read(jobs["Composite_pass1"]["plugin_info"])
    assert node_plugin["Executable"] == nuke and node_plugin["Arguments"].endswith("--node Composite_pass1")
    assert read(jobs["Swap_pass1_train"]["plugin_info"])["Executable"] == params["Dubkernels"]
    assert read(jobs["Swap_pass1_train"]["job_info"])["Group"] == "gpu"
    done = subprocess.run([sys.executable, "scripts/farm_nuke.py", str(script), "--to", "openjd", str(tmp_path / "v"),
                           "--nuke", "/opt/nuke/bin/nuke", "--frames", "1001-1005"], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 2 and "give --nuke-version" in done.stderr


def test_a_nuke_scripts_job_refuses_a_training_node_that_is_not_there(tmp_path):
    script = _nuke_script(tmp_path)
    script.write_text(script.read_text().replace("training_from FaceSR_pass1", "training_from FaceSR_9"))
    done = subprocess.run([sys.executable, "scripts/farm_nuke.py", str(script), "--to", "openjd", str(tmp_path / "o"),
                           "--nuke", "/opt/Nuke14.0v5/Nuke14.0", "--frames", "1001-1005"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "FaceSR_pass2: training from 'FaceSR_9'" in done.stderr


def test_stepped_frames_become_an_openjd_range_expression():
    assert range_expression([1001, 1002, 1003, 1005, 1007, 1008]) == "1001-1003,1005,1007-1008"


def test_a_nuke_scripts_job_refuses_relative_paths(tmp_path):
    done = subprocess.run([sys.executable, "scripts/farm_nuke.py", str(TEMPLATE_FILE), "--to", "openjd",
                           str(tmp_path / "o"), "--nuke", "Nuke14.0", "--frames", "1001-1005"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "--nuke Nuke14.0 is relative" in done.stderr
    for script, frames, message in ((tmp_path / "none.nk", "1001-1005", "no such Nuke script"),
                                    (TEMPLATE_FILE, "1001-x", "frame range '1001-x' is malformed")):
        done = subprocess.run([sys.executable, "scripts/farm_nuke.py", str(script), "--to", "openjd",
                               str(tmp_path / "o"), "--nuke", "/opt/Nuke", "--frames", frames], cwd=REPO,
                              capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


def test_farm_refuses_what_dub_refuses_before_writing_anything(shots, tmp_path, capsys):
    text = (shots / "farm.toml").read_text()
    for name, change, message in (
            ("nodubber", lambda t: t.replace("dubber.####.exr", "nobody.####.exr"), "nobody.####.exr"),
            ("frames", lambda t: t.replace('frames = ""', 'frames = "5000-5010"'),
             "asks for frames 5000-5010, but the actor take holds frames 1001-1005"),
            ("overplate", lambda t: t.replace('output = "farm/final.####.exr"',
                                              f'output = "{shots}/sample/actor/actor.####.exr"'), "plate is never")):
        shot = shots / f"{name}.toml"
        shot.write_text(change(text).replace('work = "farm/work"', f'work = "{name}/work"'))
        assert main(["farm", str(shot), "--to", "openjd", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert not (tmp_path / name).exists() and not (shots / name).exists()


def test_a_farm_job_is_never_written_over_the_user_s_own_files(shots, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "template.yaml").write_text("my own job\n")
    assert main(["farm", str(shots / "farm.toml"), "--to", "openjd", str(mine)]) == 2
    assert "holds template.yaml, which dubkernels did not write" in capsys.readouterr().err
    assert (mine / "template.yaml").read_text() == "my own job\n"
    (mine / "submit.py").write_text("print('mine')\n")
    assert main(["farm", str(shots / "farm.toml"), "--to", "deadline", str(mine)]) == 2
    assert (mine / "submit.py").read_text() == "print('mine')\n"
    ours = tmp_path / "ours"
    for _ in range(2):  # a second job into a folder dubkernels wrote replaces its own files
        assert main(["farm", str(shots / "farm.toml"), "--to", "openjd", str(ours)]) == 0


def test_a_nuke_scripts_job_refuses_empty_plates_and_a_garbage_script(tmp_path):
    for script, message in ((TEMPLATE_FILE, "the Read Read_actor has no file"),
                            (tmp_path / "garbage.nk", "not a Nuke script this can read")):
        if script.name == "garbage.nk":
            script.write_bytes(bytes(range(256)) * 4)
        done = subprocess.run([sys.executable, "scripts/farm_nuke.py", str(script), "--to", "openjd",
                               str(tmp_path / "o"), "--nuke", "/opt/Nuke14.0v5/Nuke14.0", "--frames", "1001-1005"],
                              cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "o").exists()


def test_takes_in_one_folder_are_one_root_and_an_output_beside_them_makes_it_read_and_written():
    shot = SimpleNamespace(work="/show/sh010/work", actor=SimpleNamespace(source="/show/sh010/takes/a0.mov"),
                           dubber=SimpleNamespace(source="/show/sh010/takes/d0.mov"),
                           output="/show/sh010/takes/dub.####.exr")
    roots = shot_roots(shot, ["/models/vgg16.pt", "/show/sh010/takes/line.wav"])
    assert [(r.name, str(r.folder), r.data_flow) for r in roots] == [
        ("Work", "/show/sh010/work", "INOUT"), ("Actor", "/show/sh010/takes", "INOUT"), ("File1", "/models", "IN")]
    assert rooted("/show/sh010/takes/line.wav", roots) == "${DUBKERNELS_ROOT_ACTOR}/line.wav"
    assert rooted("/show/sh010/work/pass1", roots) == "${DUBKERNELS_ROOT_WORK}/pass1"
    assert rooted("ocio://default", roots) == "ocio://default" and rooted("/elsewhere/x", roots) == "/elsewhere/x"
