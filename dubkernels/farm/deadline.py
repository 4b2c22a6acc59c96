"""A shot's farm plan as Thinkbox Deadline 10 jobs: a JobInfo and a PluginInfo file per step, and a submit script.

Every step is a CommandLine-plugin job running the engine (or, for a Nuke script's job, Nuke in terminal
mode), and the final `nuke -x` render of a Nuke script is a Nuke-plugin job. Per-frame steps cover the shot's frames in
chunks (``--chunk <STARTFRAME>-<ENDFRAME>``). Sequence-level steps are one task (``Frames=0``). Training
goes to the GPU group. Deadline only knows a job's ID once it is submitted, so ``submit.py`` submits the
jobs in dependency order with ``deadlinecommand JOBINFO PLUGININFO``, reads each ``JobID=`` and writes
the ``JobDependencies`` of the jobs after it. Job files are plain ``Key=Value`` lines.
"""
from __future__ import annotations

import json
from pathlib import Path

from dubkernels.farm.outdir import claim
from dubkernels.farm.plan import CHUNK, FarmPlan, FarmStep
from dubkernels.farm.roots import fill
from dubkernels.io.files import atomic_write_text
from dubkernels.io.sequences import format_frames

SUBMIT_SCRIPT = '''#!/usr/bin/env python3
"""Submit the DubKernels jobs of this folder to Deadline 10, in dependency order (written by `dubkernels farm`).

    python submit.py [DEADLINECOMMAND]

Each job is submitted with `deadlinecommand JOBINFO PLUGININFO` once the jobs it depends on have IDs,
which go into its JobDependencies. The IDs go to submitted.json as they come: run it again after a
failure and it submits only the jobs not submitted yet.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
command = sys.argv[1] if len(sys.argv) > 1 else "deadlinecommand"
record = here / "submitted.json"
ids = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else {}  # a rerun goes on
for job in json.loads((here / "jobs.json").read_text(encoding="utf-8"))["jobs"]:
    if job["name"] in ids:
        continue
    info = (here / job["job_info"]).read_text(encoding="utf-8")
    needs = [ids[name] for name in job["needs"]]
    submitted = here / "submitted" / job["job_info"]
    submitted.parent.mkdir(exist_ok=True)
    submitted.write_text(info + ("JobDependencies=" + ",".join(needs) + "\\n" if needs else ""), encoding="utf-8")
    done = subprocess.run([command, str(submitted), str(here / job["plugin_info"])], capture_output=True, text=True)
    found = re.search(r"^JobID=(\\S+)", done.stdout, re.M)
    if done.returncode != 0 or not found:
        sys.exit(f"{job['name']}: deadlinecommand did not submit it:\\n{done.stdout}{done.stderr}")
    ids[job["name"]] = found.group(1)
    record.write_text(json.dumps(ids, indent=1) + "\\n", encoding="utf-8")
    print(f"{job['name']}: {ids[job['name']]}")
'''


def _quoted(arg: str) -> str:
    return f"<QUOTE>{arg}<QUOTE>" if " " in arg else arg


def job_info(plan: FarmPlan, step: FarmStep, chunk_size: int, gpu_group: str, pool: str) -> dict[str, str]:
    """The JobInfo keys of one step (JobDependencies are added at submission)."""
    info = {"Plugin": "Nuke" if step.nuke_render else "CommandLine", "Name": f"{plan.name}: {step.name}",
            "BatchName": f"dubkernels {plan.name}",
            "Comment": step.help or step.kind,
            "Frames": format_frames(plan.frames) if step.chunked else "0",
            "ChunkSize": str(chunk_size if step.chunked else 1)}
    if pool:
        info["Pool"] = pool
    if step.gpu:
        info["Group"] = gpu_group
    roots = {root.variable: str(root.folder) for root in plan.roots}  # Deadline maps paths itself, where set up
    environment = {**roots, **({"OCIO": plan.ocio} if plan.ocio else {}), "PYTHONUNBUFFERED": "1",
                   **plan.environment}
    info.update({f"EnvironmentKeyValue{i}": f"{k}={v}" for i, (k, v) in enumerate(environment.items())})
    info.update({"ExtraInfoKeyValue0": f"DubkernelsStep={step.name}", "OnJobComplete": "Nothing"})
    return info


def plugin_info(plan: FarmPlan, step: FarmStep) -> dict[str, str]:
    """The plugin keys of one step: the Nuke plugin's for a `nuke -x` render, else the CommandLine plugin's (the
    engine and its arguments, a chunk's frames as tokens)."""
    if step.nuke_render:
        render = step.nuke_render
        return {"SceneFile": render["script"], "WriteNode": render["write"], "Version": render["version"],
                "BatchMode": "True", "BatchModeIsMovie": "False", "NukeX": "False", "Threads": "0",
                "ContinueOnError": "False", "EnforceRenderOrder": "False"}
    folders = {root.name: str(root.folder) for root in plan.roots}
    args = [fill(a, folders) if a != CHUNK else "<STARTFRAME>-<ENDFRAME>" for a in step.args]
    return {"Executable": plan.command(step), "Arguments": " ".join(_quoted(a) for a in args),
            "StartupDirectory": str(plan.work), "ShellExecute": "False", "SingleFramesOnly": "False"}


def _key_values(values: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())


def write_jobs(plan: FarmPlan, outdir: str | Path, chunk_size: int = 10, gpu_group: str = "gpu",
               pool: str = "") -> Path:
    """Write NN_STEP.job_info.txt / .plugin_info.txt per step, jobs.json (order, dependencies) and submit.py."""
    outdir = Path(outdir)
    stems = [f"{number:02d}_{step.name}" for number, step in enumerate(plan.steps, 1)]
    claim(outdir, [f"{stem}.{part}_info.txt" for stem in stems for part in ("job", "plugin")]
          + ["jobs.json", "submit.py"])
    jobs = []
    for number, step in enumerate(plan.steps, 1):
        stem = f"{number:02d}_{step.name}"
        atomic_write_text(outdir / f"{stem}.job_info.txt", _key_values(job_info(plan, step, chunk_size, gpu_group,
                                                                                pool)))
        atomic_write_text(outdir / f"{stem}.plugin_info.txt", _key_values(plugin_info(plan, step)))
        jobs.append({"name": step.name, "job_info": f"{stem}.job_info.txt", "plugin_info": f"{stem}.plugin_info.txt",
                     "needs": step.needs})
    atomic_write_text(outdir / "jobs.json", json.dumps({"shot": plan.name, "jobs": jobs}, indent=1) + "\n")
    submit = outdir / "submit.py"
    atomic_write_text(submit, SUBMIT_SCRIPT)
    return submit
