"""A shot's farm plan as an Open Job Description job bundle (``template.yaml`` + ``parameter_values.yaml``).

The template (``specificationVersion: jobtemplate-2023-09``) has one step per job of the graph in
dependency order; per-frame steps split the shot's frames into chunks with the TASK_CHUNKING
extension (a ``CHUNK[INT]`` task parameter, contiguous ranges). ``openjd run`` runs it locally;
``deadline bundle submit OUTDIR`` sends it to AWS Deadline Cloud. Job parameters: the engine
command (or Nuke's), the shot's roots as PATH parameters with their data flow (path mapping moves them per
host, job attachments carry them: :mod:`dubkernels.farm.roots`), the OCIO config, the frames and the chunk
size. Cancelling a task sends SIGTERM first: a per-frame chunk keeps its finished frames and a training run
checkpoints.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dubkernels.farm.outdir import claim
from dubkernels.farm.plan import CHUNK, FarmPlan, FarmStep
from dubkernels.farm.roots import argument, fill
from dubkernels.io.files import atomic_write_text

SPEC = "jobtemplate-2023-09"
GPU_AMOUNT = "amount.worker.gpu"
NOTIFY_SECONDS = 120  # SIGTERM, then this long to checkpoint before the kill


def _parameter_values(plan: FarmPlan) -> dict[str, str]:
    """Each root's name -> the format string of its PATH parameter."""
    return {root.name: "{{Param.%s}}" % root.parameter for root in plan.roots}


def _step(step: FarmStep, roots: dict[str, str]) -> dict[str, Any]:
    args = [fill(a, roots) if a != CHUNK else "{{Task.Param.Frames}}" for a in step.args]
    out: dict[str, Any] = {"name": step.name, "description": step.help or step.kind}
    if step.needs:
        out["dependencies"] = [{"dependsOn": need} for need in step.needs]
    if step.chunked:
        out["parameterSpace"] = {"taskParameterDefinitions": [{
            "name": "Frames", "type": "CHUNK[INT]", "range": "{{Param.Frames}}",
            "chunks": {"defaultTaskCount": "{{Param.ChunkSize}}", "rangeConstraint": "CONTIGUOUS"}}]}
    if step.gpu:
        out["hostRequirements"] = {"amounts": [{"name": GPU_AMOUNT, "min": 1}]}
    out["script"] = {"actions": {"onRun": {
        "command": "{{Param.%s}}" % step.tool, "args": args,
        "cancelation": {"mode": "NOTIFY_THEN_TERMINATE", "notifyPeriodInSeconds": NOTIFY_SECONDS}}}}
    return out


def range_expression(frames: list[int]) -> str:
    """Frames as an Open Job Description range expression: contiguous runs joined by commas (1001-1005,1009)."""
    runs: list[list[int]] = []
    for frame in sorted(set(frames)):
        if runs and frame == runs[-1][-1] + 1:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _ocio(plan: FarmPlan, roots: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The OCIO parameter (a URI; a config file is under one of the roots) and the job's $OCIO."""
    if not plan.ocio:
        return [], {}
    value = fill(argument(plan.ocio, plan.roots), roots)
    if value != plan.ocio:  # a file: its root parameter maps it
        return [], {"OCIO": value}
    return ([{"name": "OcioConfig", "type": "STRING", "default": plan.ocio,
              "description": "$OCIO on the workers: the config of jobs that name none (the submitting machine's)"}],
            {"OCIO": "{{Param.OcioConfig}}"})


LOCAL_VALUES = "job_parameters.yaml"  # the roots for `openjd run --job-param file://...`


def template(plan: FarmPlan, chunk_size: int) -> dict[str, Any]:
    """The job template of a plan. The roots have no default (the specification allows only paths inside the
    bundle there): ``parameter_values.yaml`` (Deadline Cloud) and ``job_parameters.yaml`` (`openjd run`) give
    them as this machine has them."""
    roots = _parameter_values(plan)
    ocio_parameters, ocio_variables = _ocio(plan, roots)
    return {
        "specificationVersion": SPEC,
        "extensions": ["TASK_CHUNKING"],
        "name": f"dub {plan.name}",
        "description": f"DubKernels two-pass dub of {plan.name} (work folder {plan.work}).",
        "parameterDefinitions": [
            {"name": "Engine", "type": "STRING", "default": plan.engine, "description": plan.engine_help},
            *[{"name": name, "type": "STRING", "default": path, "description": help}
              for name, (path, help) in plan.tools.items()],
            *[{"name": root.parameter, "type": "PATH", "objectType": "DIRECTORY", "dataFlow": root.data_flow,
               "description": root.help} for root in plan.roots],
            *ocio_parameters,
            {"name": "Frames", "type": "STRING", "default": range_expression(plan.frames),
             "description": "the actor's frames that per-frame steps cover"},
            {"name": "ChunkSize", "type": "INT", "default": chunk_size, "minValue": 1,
             "description": "frames per task of a per-frame step"},
        ],
        "jobEnvironments": [{"name": "DubKernelsEnvironment",
                             "description": "the shot's roots as this host mounts them, the OCIO config; "
                                            "unbuffered output for the farm logs",
                             "variables": {**{root.variable: roots[root.name] for root in plan.roots},
                                           **ocio_variables, "PYTHONUNBUFFERED": "1", **plan.environment}}],
        "steps": [_step(step, roots) for step in plan.steps],
    }


def write_bundle(plan: FarmPlan, outdir: str | Path, chunk_size: int = 10) -> Path:
    """Write ``OUTDIR/template.yaml``, ``OUTDIR/parameter_values.yaml`` (the chunk size and the roots as this
    machine has them, for `deadline bundle submit`) and ``OUTDIR/job_parameters.yaml`` (the roots, for `openjd
    run`); returns the template's path."""
    outdir = Path(outdir)
    claim(outdir, ["template.yaml", "parameter_values.yaml", LOCAL_VALUES])
    path = outdir / "template.yaml"
    atomic_write_text(path, yaml.safe_dump(template(plan, chunk_size), sort_keys=False, width=120))
    roots = {root.parameter: str(root.folder) for root in plan.roots}
    values = {"parameterValues": [{"name": "ChunkSize", "value": chunk_size},
                                  *[{"name": name, "value": value} for name, value in roots.items()]]}
    atomic_write_text(outdir / "parameter_values.yaml", yaml.safe_dump(values, sort_keys=False))
    atomic_write_text(outdir / LOCAL_VALUES, yaml.safe_dump(roots, sort_keys=False))
    return path
