"""`dubkernels dub` end to end on a tiny sample with a tiny network: the final shot, the report,
resume after kill -9, reruns of exactly what a change touched, and bad shot files."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from dubkernels.cli.main import main
from dubkernels.errors import EXIT_USER_ERROR
from dubkernels.io.frames import read_frame
from dubkernels.metrics.image import changed_outside
from dubkernels.pipeline.dub import dub_shot, why_run
from dubkernels.pipeline.shot import load_shot, template
from dubkernels.pipeline.work_lock import WorkBusy, work_lock
from dubkernels.report.collect import collect, load_files
from dubkernels.report.write import write_report
from tests.conftest import REPO
from tests.fake_metric_models import save_fake_models
from tests.tiny_nets import tiny_sample, tiny_shot_text

FRAMES = [1001, 1002, 1003, 1004, 1005]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return tiny_sample(tmp_path_factory.mktemp("dub"), len(FRAMES))


def _shot_file(root: Path, made, name: str, extra: str = "") -> Path:
    text = tiny_shot_text(root, made.actor, made.dubber, f"{name}/work", f"{name}/final/final.####.exr")
    path = root / f"{name}.toml"
    path.write_text(text + "\n" + extra)
    return path


def _quiet(*_: object) -> None:
    pass


@pytest.fixture(scope="module")
def dubbed(sample):
    root, made = sample
    shot = load_shot(_shot_file(root, made, "whole"))
    result = dub_shot(shot, extra_files={"truth": str(made.truth)}, log=_quiet)
    return root, made, shot, result


def test_the_dub_writes_every_final_frame_and_the_report(dubbed):
    root, made, shot, result = dubbed
    assert result.run.ran() == result.graph.names + ["deliver"]
    final = [root / "whole" / "final" / f"final.{f}.exr" for f in FRAMES]
    assert all(p.is_file() for p in final)
    report = result.report
    assert report.index.is_file() and report.movie.stat().st_size > 1000
    html = report.index.read_text()
    assert "data:image/png;base64," in html and "lip sync r vs dubber" in html and "pass 2" in html
    metrics = json.loads(report.metrics.read_text())
    assert metrics["frames"] == FRAMES
    for name in ("paste", "pass1", "pass2"):
        assert metrics["summary"][name]["changed_outside_mask"] == 0
        assert metrics["summary"][name]["r_vs_truth"] is not None  # the sample's truth curve is read
        assert metrics["summary"][name]["lmd_movement"] >= 0.0
    assert len(metrics["curves"]["opening_truth"]) == len(FRAMES)
    assert (shot.work / "report" / "contact_sheet.png").is_file()
    for name in ("own", "pass1", "pass2"):  # the whole-mouth sync figures
        entry = metrics["summary"][name]
        assert -1.0 <= entry["shape_r_vs_dubber"] <= 1.0 and isinstance(entry["best_lag"], int)
        assert entry["closure_agreement"] is None or 0.0 <= entry["closure_agreement"] <= 100.0


def test_the_dub_delivers_the_candidate_the_report_ranks_best(dubbed):
    root, made, shot, result = dubbed
    delivery = json.loads((shot.work / "report" / "delivery.json").read_text())
    ranking = delivery["ranking"]
    assert not delivery["pinned"] and delivery["candidate"] == ranking[0]["candidate"]
    assert [r["candidate"] for r in ranking if r["candidate"] != "paste"] == [r["candidate"] for r in ranking]
    keys = [(r["musts_missed"], r["missed"], r["shortfall"]) for r in ranking]
    assert keys == sorted(keys)
    chosen = delivery["result"]
    assert f"delivered: {delivery['candidate']}" in result.report.index.read_text()
    for f in FRAMES:  # the final frame is the chosen candidate over the whole plate: equal where both have pixels
        out = read_frame(shot.output.replace("####", str(f)))
        candidate = read_frame(result.graph.files[chosen].replace("####", str(f)))
        a0 = read_frame(made.actor.replace("####", str(f)))
        window = candidate.data_window
        assert out.data_window == a0.data_window
        rows, cols = slice(window.y, window.y_end), slice(window.x, window.x_end)
        np.testing.assert_array_equal(out.pixels[rows, cols].view(np.uint16), candidate.pixels.view(np.uint16))


def test_a_pinned_candidate_is_delivered_and_a_changed_pin_redelivers(dubbed, capsys):
    root, made, shot, result = dubbed
    for part in ("work", "final"):
        shutil.copytree(root / "whole" / part, root / "pinned" / part)
    path = _shot_file(root, made, "pinned")
    assert main(["dub", str(path), "--set", "shot.deliver=pass1", "--no-report", "--progress", "none"]) == 0
    out = capsys.readouterr().out
    assert "delivered:    pass1 (pinned by the shot file" in out
    pinned = load_shot(path, ["shot.deliver=pass1"])
    for f in FRAMES:
        final = read_frame(pinned.output.replace("####", str(f)))
        comp = read_frame(str(root / "pinned" / "work" / "pass1" / "comp" / f"comp.{f}.exr"))
        window = comp.data_window
        np.testing.assert_array_equal(final.pixels[window.y:window.y_end, window.x:window.x_end].view(np.uint16),
                                      comp.pixels.view(np.uint16))
    again = dub_shot(load_shot(path, ["shot.deliver=pass1"]), report=False, log=_quiet)
    assert again.run.ran() == []  # the same pin: nothing to redo
    with pytest.raises(Exception, match="deliver = 'best'; choose one of auto, own_mouth, own_chin, pass1, pass2"):
        load_shot(path, ["shot.deliver=best"])


def test_no_pixel_outside_the_mask_changes_in_any_final_frame(dubbed):
    root, made, shot, result = dubbed
    for f in FRAMES:
        a0 = read_frame(made.actor.replace("####", str(f)))
        out = read_frame(shot.output.replace("####", str(f)))
        mask = read_frame(result.graph.deliveries["pass2"].outputs["mask"].replace("####", str(f)))
        assert changed_outside(a0, out, mask) == 0
        assert out.channel_names == a0.channel_names and out.pixels.dtype == a0.pixels.dtype


def test_the_report_measures_lpips_and_fid_only_when_given(dubbed, tmp_path):
    root, made, shot, result = dubbed
    models = save_fake_models(tmp_path)
    plain = write_report(shot.work)
    summary = json.loads(plain.metrics.read_text())["summary"]
    assert all("lpips" not in summary[n] and "fid" not in summary[n] for n in ("paste", "pass1", "pass2"))
    assert "LPIPS: skipped: no LPIPS model given" in plain.index.read_text()
    measured = write_report(shot.work, lpips_model=models[0], fid_model=models[1])
    summary = json.loads(measured.metrics.read_text())["summary"]
    for name in ("paste", "pass1", "pass2"):
        assert summary[name]["lpips"] >= 0.0 and np.isfinite(summary[name]["fid"])
    html = measured.index.read_text()
    assert "LPIPS vs A0, mouth box" in html and "skipped: no LPIPS" not in html


def test_the_report_counts_frames_left_undubbed(dubbed, tmp_path):
    root, made, shot, result = dubbed
    manifest = json.loads((shot.work / "files.json").read_text())
    assert all(json.loads(result.report.metrics.read_text())["summary"][n]["frames_undubbed"] == 0
               for n in ("paste", "own", "pass1", "pass2"))
    files = manifest["files"] = {k: str(shot.work / v) for k, v in manifest["files"].items()}  # read from elsewhere
    files["own"] = files["actor"]  # a "result" that is the plate itself: every frame undubbed
    for name in ("pass1", "pass2"):
        del files[name], files[f"{name}_track"]
    (tmp_path / "files.json").write_text(json.dumps(manifest))
    summary = collect(tmp_path).summary
    assert summary["own"]["frames_undubbed"] == len(result.report.data.frames)
    assert summary["own"]["changed_outside_mask"] == 0 and summary["paste"]["frames_undubbed"] == 0


def test_a_rerun_skips_everything_and_a_changed_parameter_reruns_exactly_its_dependants(dubbed):
    root, made, shot, result = dubbed
    for part in ("work", "final"):  # a moved copy of the work folder resumes like the original
        shutil.copytree(root / "whole" / part, root / "changed" / part)
    copy = load_shot(_shot_file(root, made, "changed"))
    again = dub_shot(copy, report=False, log=_quiet)
    assert again.run.ran() == []
    lines: list[str] = []
    changed = dub_shot(load_shot(copy.path, ["stabilize.beta=0.8"]), report=False, log=lines.append)
    assert set(changed.run.ran()) == {  # pass 2 refines the own mouth: its training and swap stand
        "stabilize_pass1", "analyze_stab_pass1", "sr_pass1", "analyze_sr_pass1", "composite_pass1",
        "analyze_comp_pass1", "stabilize_pass2", "analyze_stab_pass2", "sr_pass2", "analyze_sr_pass2",
        "composite_pass2", "analyze_comp_pass2"}
    assert "train_sr" not in changed.run.ran()  # FaceSR learns from the actor plate and pass 1's swap only
    assert any("stabilize_pass1: running (parameters changed: beta)" in line for line in lines)
    assert any("composite_pass1: running (input changed: face, face_track)" in line for line in lines)
    assert any("pose_align: up to date, skipped" in line for line in lines)


def test_kill_9_during_a_step_then_rerun_gives_the_same_frames(dubbed, sample):
    root, made = sample
    path = _shot_file(root, made, "killed")
    pin = ["shot.deliver=pass2"]  # no report: the pinned candidate is delivered
    command = [sys.executable, "-m", "dubkernels.cli.main", "dub", str(path), "--set", pin[0], "--no-report",
               "--progress", "none"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    swap = root / "killed" / "work" / "pass1" / "swap"
    deadline = time.monotonic() + 300
    while not (swap.is_dir() and list(swap.glob("swap.*.exr"))):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (root / "killed" / "final").exists()
    result = dub_shot(load_shot(path, pin), report=False, log=_quiet)
    assert "pose_align" not in result.run.ran() and "deliver" in result.run.ran()  # done before the kill
    for f in FRAMES:
        whole = read_frame(root / "whole" / "work" / "pass2" / "comp" / f"comp.{f}.exr")
        resumed = read_frame(root / "killed" / "work" / "pass2" / "comp" / f"comp.{f}.exr")
        assert (root / "killed" / "final" / f"final.{f}.exr").is_file()
        for a, b in zip(whole.parts, resumed.parts):
            np.testing.assert_array_equal(a.pixels.view(np.uint16), b.pixels.view(np.uint16))
    whole_work, killed_work = root / "whole" / "work", root / "killed" / "work"
    frames = sorted(p.relative_to(killed_work) for p in killed_work.rglob("*.exr")
                    if p.parent.name != "final_mask")  # the whole run delivers the report's choice, this one pass 2
    assert len(frames) > 4 * len(FRAMES)
    differ = [str(p) for p in frames if (whole_work / p).read_bytes() != (killed_work / p).read_bytes()]
    assert differ == []  # bit for bit, headers (provenance) too
    assert not [p for p in killed_work.rglob(".*") if p.name != ".dubkernels.lock"]  # no temporary file left


def test_dry_run_prints_the_graph_and_writes_the_job_specs(sample, capsys):
    root, made = sample
    path = _shot_file(root, made, "dry")
    assert main(["dub", str(path), "--dry-run", "--progress", "none"]) == 0
    out = capsys.readouterr().out
    assert "composite_pass2: the new mouth composited into A0" in out and '"stage": "train"' in out
    assert (root / "dry" / "work" / "jobs" / "train_pass2.json").is_file()
    assert not (root / "dry" / "work" / "state").exists()
    assert main(["run", str(root / "dry" / "work" / "jobs" / "analyze_actor.json"), "--progress", "none"]) == 0


def test_until_and_from(sample, capsys):
    root, made = sample
    shot = load_shot(_shot_file(root, made, "partial"))
    with pytest.raises(Exception, match=r"--from pose_align: the steps it reads from have not run yet "
                                        r"\(analyze_actor, analyze_dubber\); run the dub without --from"):
        dub_shot(shot, start="pose_align", log=_quiet)
    assert main(["dub", str(shot.path), "--until", "analyze_actor", "--progress", "none"]) == 0
    assert "final shot:   not written (--until analyze_actor stopped before it)" in capsys.readouterr().out
    first = dub_shot(shot, until="pose_align", log=_quiet)
    assert first.run.ran() == ["analyze_dubber", "pose_align"] and first.report is None
    second = dub_shot(shot, start="pose_align_actor", until="analyze_par", log=_quiet)
    assert second.run.ran() == ["pose_align_actor", "analyze_par"]  # the learned passes' training data
    with pytest.raises(Exception, match="--until nothing: no such step; the steps are: analyze_actor"):
        dub_shot(shot, until="nothing", log=_quiet)


def test_quick_look_runs_only_the_baselines_and_reports_them(sample, capsys):
    root, made = sample
    path = _shot_file(root, made, "quick")
    assert main(["dub", str(path), "--quick", "--progress", "none"]) == 0
    out = capsys.readouterr().out
    assert "train" not in out.split("dub quick:")[0].replace("training", "")  # no training step ran
    assert "quick look:" in out and "own_comp" in out
    work = root / "quick" / "work"
    assert not (work / "pass1" / "train").exists() and not (root / "quick" / "final").exists()
    metrics = json.loads((work / "report" / "metrics.json").read_text())
    assert metrics["results"] == ["paste", "own", "own_chin"]  # the own mouth with the plate's chin and its own
    for own in ("own", "own_chin"):
        assert metrics["summary"][own]["changed_outside_mask"] == 0
        assert metrics["summary"][own]["frames_without_face"] == 0
    html = (work / "report" / "index.html").read_text()
    assert "own mouth (no training)" in html and "pass 2" not in html.split("<h2>Summary</h2>")[1].split("</table>")[0]
    summary = (work / "report" / "summary.md").read_text()
    header, rule, *rows = [line for line in summary.splitlines() if line.startswith("|")]
    assert header == "| metric | paste (no network) | own mouth (no training) | own mouth + chin | reading |"
    assert rule.count("|") == 6
    own_r = f"{metrics['summary']['own']['r_vs_dubber']:.3f}"
    assert any(r.startswith("| lip sync r vs dubber |") and r.split(" | ")[2] == own_r for r in rows)
    assert "![contact sheet](contact_sheet.png)" in summary
    assert "![worst frames](worst_frames.png)" in summary  # the delivered candidate's worst frames at 4x
    worst = oiio.ImageBuf(str(work / "report" / "worst_frames.png"))
    assert worst.spec().width > 3 * 64 and worst.get_pixels(oiio.FLOAT).max() > 0  # three 4x mouth crops a row


def test_quick_with_the_own_mouth_pinned_delivers_it_and_runs_only_what_the_delivery_reads(sample, capsys):
    root, made = sample
    path = _shot_file(root, made, "quickown")
    args = ["dub", str(path), "--quick", "--no-report", "--set", "shot.deliver=own_mouth", "--progress", "none"]
    assert main(args) == 0
    out = capsys.readouterr().out
    work, final = root / "quickown" / "work", root / "quickown" / "final"
    ran = {p.stem for p in (work / "state").glob("*.json")}
    assert {"own_mouth", "analyze_own", "deliver"} <= ran
    assert not ran & {"composite_own", "analyze_own_comp", "composite_paste", "analyze_paste"}  # report-only steps
    assert "final shot:" in out and "delivered:    own_mouth" in out
    plate = read_frame(made.actor.replace("####", f"{FRAMES[0]}"))
    dubbed = read_frame(final / f"final.{FRAMES[0]}.exr")
    assert dubbed.display_window == plate.display_window  # the whole plate, its mouth changed
    assert not np.array_equal(dubbed.display_rgb(), plate.display_rgb())
    args[args.index("shot.deliver=own_mouth")] = "shot.deliver=own_chin"  # the same layer, with its drawn chin
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "delivered:    own_chin" in out and "own_mouth: up to date" in out.replace("  ", " ")
    with_chin = read_frame(final / f"final.{FRAMES[0]}.exr")
    assert json.loads((work / "jobs" / "deliver_own_chin.json").read_text())["params"]["chin"] is True
    assert not np.array_equal(with_chin.display_rgb(), dubbed.display_rgb())


def test_bad_shot_files_are_clear_and_write_nothing(sample, tmp_path, capsys):
    root, made = sample
    (tmp_path / "unknown.toml").write_text(template(made.actor, made.dubber).replace("seed = 0 ", "speed = 2 "))
    missing = template(made.actor, str(tmp_path / "absent.mov")).replace('work = "work"', 'work = "w1"')
    (tmp_path / "missing.toml").write_text(missing)
    dubber30 = tmp_path / "d30" / "d.####.exr"
    for f in FRAMES:  # the dubber at 30 fps against the actor's 25
        frame = read_frame(made.dubber.replace("####", str(f)))
        frame.spec.attribute("FramesPerSecond", __import__("OpenImageIO").TypeRational, (30, 1))
        from dubkernels.io.frames import write_frame

        write_frame(str(dubber30).replace("####", str(f)), frame)
    rates = template(made.actor, str(dubber30)).replace('work = "work"', 'work = "w2"')
    (tmp_path / "rates.toml").write_text(rates + "\n[pose_align]\nretime = false\n")
    for name, message in (("unknown", "unknown key train.speed"), ("missing", "absent.mov not found"),
                          ("rates", "actor is 25 fps and the dubber 30 fps, and pose_align.retime is off")):
        assert main(["dub", str(tmp_path / f"{name}.toml"), "--progress", "none"]) == EXIT_USER_ERROR
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d30", "missing.toml", "rates.toml", "unknown.toml"]


def test_a_training_step_stopped_by_its_budget_goes_on_unless_its_inputs_changed():
    made = {"stage": "train", "params": {"config": "preview"}, "ocio": "x", "inputs": {"actor": "a1"}}
    now = {"made_from": made, "settings": {}, "outputs": {"out": "run1"}, "frames": None}
    stopped = {**now, "complete": False}
    assert why_run(stopped, now) == "training stopped at its time budget; going on"
    assert why_run({**now, "complete": True}, now) is None
    changed = {**now, "made_from": {**made, "inputs": {"actor": "a2"}}}
    assert why_run(stopped, changed) == "input changed: actor"  # the trainer starts afresh: say so


def test_the_report_opens_with_the_verdict_and_the_frames_to_look_at(dubbed):
    root, made, shot, result = dubbed
    page = result.report.index.read_text()
    order = [page.index(mark) for mark in ('id="verdict"', "<h2>Frames to look at</h2>", '<video id="review"',
                                           "<h2>Summary</h2>", "<h2>Per-frame curves</h2>")]
    assert order == sorted(order)
    assert page.split('id="verdict">')[1].startswith("delivered: ")
    metrics = result.report.data
    links = page.split("<h2>Frames to look at</h2>")[1].split("<h2>Review movie</h2>")[0].count('href="review.mp4#t=')
    summary = (shot.work / "report" / "summary.md").read_text()
    listed = [line for line in summary.splitlines() if line.startswith("- frame ")]
    assert links == len(listed) >= 1  # the tiny sample's delivered mouth is never the dubber's: a worst-sync frame
    frame = int(listed[0].split()[2])
    assert f"({(metrics.frames.index(frame) + 0.5) / 25:.2f} s)" in listed[0]  # its time in the 25 fps movie
    assert summary.index("## Frames to look at") < summary.index("| metric |")
    strip = oiio.ImageBuf(str(shot.work / "report" / "frames_to_look_at.png"))
    assert strip.spec().width == 2 * 160 * len(listed)  # dubber | delivered, per frame


def test_a_second_dub_in_a_busy_work_folder_is_refused_naming_the_first(sample, capsys):
    root, made = sample
    shot = load_shot(_shot_file(root, made, "busy"))
    planned = dub_shot(shot, log=_quiet, dry_run=True)  # the job specs and files.json, nothing run
    job = shot.work / "jobs" / f"{planned.graph.names[0]}.json"
    with work_lock(shot.work, "dubkernels dub busy.toml"):
        with pytest.raises(WorkBusy, match=r"in use by `dubkernels dub busy.toml` \(pid \d+ on .*, since"):
            dub_shot(shot, log=_quiet, quick=True)
        assert main(["run", str(job), "--progress", "none"]) == EXIT_USER_ERROR  # a farm task of it waits too
        assert "in use by `dubkernels dub busy.toml`" in capsys.readouterr().err
    with work_lock(shot.work, "a farm task", shared=True):  # a chunk of one of its jobs on the farm
        with pytest.raises(WorkBusy, match="in use by a farm task"):
            dub_shot(shot, log=_quiet, quick=True)
        assert main(["run", str(job), "--progress", "none"]) == 0  # chunks run side by side


def test_temporary_files_an_interrupted_run_left_are_removed(sample):
    root, made = sample
    path = _shot_file(root, made, "leftovers")
    shot = load_shot(path)
    stale = shot.work / "pose_align" / ".pa.1003.exr.k2j4_x9q.exr"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a frame")
    kept = shot.work / "pose_align" / ".notes"
    kept.write_text("the artist's own dot file")
    lines: list[str] = []
    dub_shot(shot, log=lines.append, dry_run=True)
    assert not stale.exists() and kept.exists()
    assert "note: removed 1 temporary file(s) an interrupted run left" in lines


def test_a_bad_or_missing_model_file_is_refused_before_the_first_step(dubbed, tmp_path, capsys):
    root, made, shot, result = dubbed
    stamp = (shot.work / "pass1" / "train" / "job.json").read_text()
    bad = tmp_path / "init.safetensors"
    bad.write_bytes(b"not a checkpoint")
    for setting, message in ((f"train.init={bad}", "train.init: " + f"{bad}: not a readable safetensors checkpoint"),
                             (f"train.init={tmp_path / 'gone.safetensors'}", "gone.safetensors: not found"),
                             (f"report.lpips_model={tmp_path / 'vgg16.pt'}", "report.lpips_model = ")):
        assert main(["dub", str(root / "whole.toml"), "--set", setting, "--progress", "none"]) == EXIT_USER_ERROR
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert (shot.work / "pass1" / "train" / "job.json").read_text() == stamp  # the trained run untouched
    assert not (shot.work / "pass1" / "train" / "superseded").exists()


def test_a_copied_work_folder_s_jobs_and_manifest_act_on_the_copy(dubbed, tmp_path):
    root, made, shot, result = dubbed
    copy = tmp_path / "elsewhere" / "work"
    shutil.copytree(shot.work, copy)
    job = json.loads((copy / "jobs" / "composite_paste.json").read_text())
    assert job["outputs"]["out"] == "../baseline/paste/paste.####.exr"  # relative to the job's folder
    assert job["inputs"]["actor"] == made.actor  # the plate stays where it is
    original = shot.work / "baseline" / "paste" / "paste.1001.exr"
    before = original.stat().st_mtime_ns
    assert main(["run", str(copy / "jobs" / "composite_paste.json"), "--force", "--progress", "none"]) == 0
    assert original.stat().st_mtime_ns == before  # the original untouched ...
    assert (copy / "baseline" / "paste" / "paste.1001.exr").stat().st_mtime_ns > before  # ... the copy rewritten
    assert json.loads((copy / "files.json").read_text())["files"]["own"] == "baseline/own_comp/own_comp.####.exr"
    assert load_files(copy)["own"] == str(copy / "baseline" / "own_comp" / "own_comp.####.exr")  # the report's


def test_a_shot_file_copied_for_a_new_shot_cannot_take_over_the_old_shot_s_work(dubbed, tmp_path, capsys):
    root, made, shot, result = dubbed
    other_dubber = tmp_path / "other" / "d.####.exr"
    other_dubber.parent.mkdir()
    for f in FRAMES:
        shutil.copyfile(made.dubber.replace("####", str(f)), str(other_dubber).replace("####", str(f)))
    copied = root / "copied.toml"  # a new shot (another dubber take) whose work still names the old one's
    copied.write_text((root / "whole.toml").read_text().replace(made.dubber, str(other_dubber)))
    manifest = (shot.work / "files.json").read_text()
    assert main(["dub", str(copied), "--progress", "none"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert f"holds the dub of another shot ({root / 'whole.toml'}" in err and "Give this shot a work folder" in err
    assert (shot.work / "files.json").read_text() == manifest  # nothing taken over
    renamed = root / "renamed.toml"  # the same takes under another name: the same shot
    renamed.write_text((root / "whole.toml").read_text())
    assert dub_shot(load_shot(renamed), report=False, log=_quiet, dry_run=True).graph is not None


def test_a_job_of_another_shot_cannot_write_into_this_shot_s_work(dubbed, tmp_path, capsys):
    root, made, shot, result = dubbed
    job = json.loads((shot.work / "jobs" / "composite_paste.json").read_text())
    job["inputs"] = {k: str((shot.work / "jobs" / v).resolve()) if not v.startswith("/") else v
                     for k, v in job["inputs"].items()}
    job["outputs"] = {k: str((shot.work / "jobs" / v).resolve()) for k, v in job["outputs"].items()}
    stray = tmp_path / "other_shot_job.json"  # another shot's job, its outputs pointed into this shot's work
    stray.write_text(json.dumps(job))
    before = (shot.work / "baseline" / "paste" / "paste.1001.exr").stat().st_mtime_ns
    assert main(["run", str(stray), "--progress", "none"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert f"lies in the work folder {shot.work.resolve()} of another dub" in err and "--force" in err
    assert (shot.work / "baseline" / "paste" / "paste.1001.exr").stat().st_mtime_ns == before


@pytest.mark.parametrize("frames, outside", [("5000-5010", "5000-5010"), ("1003-1010", "1006-1010"), ("-5-3", "-5-3")])
def test_frames_the_actor_take_does_not_hold_are_refused_naming_those_it_does(sample, capsys, frames, outside):
    root, made = sample
    path = _shot_file(root, made, "frames")
    assert main(["dub", str(path), "--set", f"shot.frames={frames}", "--progress", "none"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert (f"asks for frames {outside}, but the actor take holds frames 1001-1005; give a range inside them "
            "(--set shot.frames=1001-1005)") in err
    assert not (root / "frames").exists()  # refused before anything is written


def test_the_preflight_of_a_shot_without_an_init_imports_no_torch(sample):
    root, made = sample
    path = _shot_file(root, made, "light")
    code = ("import sys; from dubkernels.pipeline.shot import load_shot; from dubkernels.pipeline.preflight import "
            f"preflight; preflight(load_shot({str(path)!r})); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr  # the forked workers stay small
