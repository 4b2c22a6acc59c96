"""Run a shot's graph of jobs on one machine: resume, rerun only what a change touched, say why.

Each step's job spec is written to ``WORK/jobs/STEP.json`` (what the farm and Nuke run).
When a step succeeds, ``WORK/state/STEP.json`` records what it was made from (parameters,
OCIO config, the content of its inputs), what it wrote and how long it took. A rerun compares: a step whose
record still holds is skipped; any other runs, and the log says why (new, parameters,
an input, missing outputs, unfinished training). Inside a step the job's own identity
skips frames already rendered, so a killed run resumes where it stopped.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dubkernels.io.files import atomic_write_text, remove_temporaries
from dubkernels.jobs.identity import identity_parts, output_identity
from dubkernels.jobs.kinds import job_kind
from dubkernels.jobs.progress import Progress
from dubkernels.jobs.spec import JobError, portable, save_job, written_path
from dubkernels.jobs.summary import Summary
from dubkernels.pipeline.graph import Graph, Step
from dubkernels.pipeline.runner import run_job
from dubkernels.report.bar import CANDIDATES, TRAINING_FREE
from dubkernels.stages.base import worker_context


@dataclass
class StepResult:
    name: str
    action: str  # "ran", "skipped", "dry-run", "not run" (outside --from/--until)
    reason: str
    summary: Summary | None = None
    seconds: float = 0.0


@dataclass
class DubRun:
    """What a dub did, step by step."""

    results: list[StepResult] = field(default_factory=list)

    def ran(self) -> list[str]:
        return [r.name for r in self.results if r.action == "ran"]

    def skipped(self) -> list[str]:
        return [r.name for r in self.results if r.action == "skipped"]

    def seconds(self, training: bool) -> float:
        """Wall time of the steps run: the training steps, or every other step."""
        return sum(r.seconds for r in self.results if r.name.startswith("train_") == training)


def step_record(step: Step) -> dict[str, Any]:
    """What a step is made from and what it wrote, as compared between runs."""
    kind = job_kind(step.job.stage)
    parts = identity_parts(step.job, kind, whole_sequences=True)
    outputs = {p.name: output_identity(p, step.job.outputs[p.name]) for p in kind.outputs if p.name in step.job.outputs}
    return {"made_from": parts, "settings": step.job.params, "outputs": outputs, "frames": step.job.frames}


def _state_path(work: Path, step: str) -> Path:
    return work / "state" / f"{step}.json"


def _stored(work: Path, step: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_state_path(work, step).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Keys whose values differ between two records."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def why_run(stored: dict[str, Any] | None, now: dict[str, Any]) -> str | None:
    """Why a step must run (None: it is up to date)."""
    if stored is None:
        return "new"
    before, after = stored.get("made_from", {}), now["made_from"]
    checks = (
        ("another kind of job", [] if before.get("stage") == after["stage"] else ["stage"]),
        ("parameters changed", _changed(before.get("params", {}), after["params"])),
        ("settings changed", _changed(stored.get("settings", {}), now["settings"])),
        ("OCIO config changed", [] if before.get("ocio") == after["ocio"] else ["ocio"]),
        ("input changed", _changed(before.get("inputs", {}), after["inputs"])),
        ("frame range changed", [] if stored.get("frames") == now["frames"] else ["frames"]),
        ("outputs missing or changed", [k for k, v in now["outputs"].items()
                                        if v is None or stored.get("outputs", {}).get(k) != v]),
    )
    for reason, keys in checks:
        if keys:
            return f"{reason}: {', '.join(keys)}"  # a training run made from other inputs starts afresh
    if not stored.get("complete", True):
        return "training stopped at its time budget; going on"
    return None


def _window(graph: Graph, start: str | None, until: str | None) -> tuple[int, int]:
    names = graph.names
    for value, flag in ((start, "--from"), (until, "--until")):
        if value is not None and value not in names:
            raise JobError(f"{flag} {value}: no such step; the steps are: {', '.join(names)}.")
    first = names.index(start) if start else 0
    last = names.index(until) if until else len(names) - 1
    if first > last:
        raise JobError(f"--from {start} comes after --until {until}; the order is: {', '.join(names)}.")
    return first, last


def _check_ran_before(graph: Graph, work: Path, chosen: list[str], start: str) -> None:
    """``--from start`` needs what the steps before it make: name those never run (no state record)."""
    needed = [n for n in graph.needed_for(chosen) if n not in chosen]
    missing = [n for n in needed if _stored(work, n) is None]
    if missing:
        raise JobError(f"--from {start}: the steps it reads from have not run yet ({', '.join(missing)}); run the dub "
                       f"without --from (or --from {missing[0]}): steps already done are skipped.")


def _worker_modules(graph: Graph) -> set[str]:
    """The modules the graph's worker processes run (each per-frame stage's; the analysis's runs of frames)."""
    return {module for s in graph.steps for module in job_kind(s.job.stage).worker_modules}


def run_graph(
    graph: Graph,
    work: Path,
    *,
    start: str | None = None,
    until: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    workers: int | None = None,
    overall: Progress | None = None,
    step_progress: Progress | None = None,
    log: Callable[[str], None] = print,
    only: list[str] | None = None,
) -> DubRun:
    """Run the steps of ``graph`` in order (those between ``start`` and ``until``, and in ``only`` if given)."""
    overall, step_progress = overall or Progress(), step_progress or Progress()
    first, last = _window(graph, start, until)
    worker_context(_worker_modules(graph))
    run = DubRun()
    for step in graph.steps:
        save_job(step.job, work / "jobs" / f"{step.name}.json", root=work)
    chosen = [s.name for s in graph.steps[first : last + 1] if only is None or s.name in only]
    if start is not None and not dry_run:
        _check_ran_before(graph, work, chosen, start)
    overall.start("dub", len(chosen), unit="step")
    for step in graph.steps:
        if step.name not in chosen:
            run.results.append(StepResult(step.name, "not run", "outside --from/--until" if only is None else
                                          "not part of this run"))
            continue
        number = f"[{chosen.index(step.name) + 1}/{len(chosen)}]"
        if dry_run:
            run.results.append(StepResult(step.name, "dry-run", ""))
            continue
        overall.message(step.name)
        reason = "forced" if force else why_run(_stored(work, step.name), step_record(step))
        if reason is None:
            log(f"{number} {step.name}: up to date, skipped")
            run.results.append(StepResult(step.name, "skipped", "up to date"))
            overall.advance(1)
            continue
        log(f"{number} {step.name}: running ({reason})")
        began = time.monotonic()
        summary = run_job(step.job, force=force, workers=workers if job_kind(step.job.stage).per_frame else None,
                          progress=step_progress)
        for note in summary.notes:
            log(f"    note: {note}")
        complete = not any("time budget" in note for note in summary.notes)
        seconds = time.monotonic() - began
        log(f"    {step.name}: {seconds:.1f} s")
        record = {**step_record(step), "complete": complete, "seconds": round(seconds, 2)}
        atomic_write_text(_state_path(work, step.name), json.dumps(record, indent=1) + "\n")
        run.results.append(StepResult(step.name, "ran", reason, summary, seconds))
        overall.advance(1)
    overall.finish()
    return run


@dataclass
class DubResult:
    """Where a dub put its final shot and report, and what it ran."""

    graph: Graph
    run: DubRun
    output: str
    report: Any = None  # dubkernels.report.write.Report when the report was written


def write_manifest(work: Path, name: str, graph: Graph, extra: dict[str, str] | None = None,
                   deliver: str = "auto", quick: bool = False, shot: dict[str, Any] | None = None,
                   outside: Callable[[str], str] | None = None) -> Path:
    """``WORK/files.json``: the steps, the sequences and tracks the report reads (`dubkernels report WORK`), each
    candidate's delivery job and the shot's pin (`dubkernels deliver WORK`), and whether the dub is a quick look
    that delivers nothing, and ``shot`` (the shot that owns the folder, :func:`ownership.shot_record`); writes the
    delivery jobs. Paths under the work folder are written relative to it, the others through ``outside`` (a farm
    job's roots) where given."""
    from dubkernels.pipeline.deliver import save_deliveries

    path = work / "files.json"
    files = {key: written_path(value, work, work, outside) for key, value in {**graph.files, **(extra or {})}.items()}
    deliveries = {key: portable(value, work, work)
                  for key, value in save_deliveries(work, graph.deliveries, outside).items()}
    manifest = {"name": name, "shot": shot, "steps": graph.names, "files": files, "deliver": deliver,
                "deliveries": deliveries, "quick": quick}
    atomic_write_text(path, json.dumps(manifest, indent=1) + "\n")
    return path


def deliver_shot(work: Path, *, force: bool = False, workers: int | None = None, step_progress: Progress | None = None,
                 log: Callable[[str], None] = print) -> DubRun:
    """Composite the chosen candidate over the whole plate into the shot's output (skipped when up to date)."""
    from dubkernels.pipeline.deliver import delivery_job

    result, _, job = delivery_job(work)
    step = Step("deliver", job, help=f"deliver {result}: its mouth composited over the whole plate")
    return run_graph(Graph([step], {}), work, force=force, workers=workers, step_progress=step_progress, log=log)


def dub_shot(shot: Any, *, start: str | None = None, until: str | None = None, dry_run: bool = False,
             force: bool = False, report: bool = True, extra_files: dict[str, str] | None = None,
             overall: Progress | None = None, step_progress: Progress | None = None,
             log: Callable[[str], None] = print, quick: bool = False) -> DubResult:
    """Build ``shot``'s graph, run it, and write the shot report when the final shot is complete.

    ``quick`` runs only the training-free baselines (the actor's own mouth, the paste) and their report:
    a look at sync and timing in minutes, before any training. With the own mouth pinned (``deliver =
    "own_mouth"`` or ``"own_chin"``) it delivers it too: the whole dub with no training; without the report, only
    the steps the delivery reads run.
    """
    from dubkernels.pipeline.preflight import preflight
    from dubkernels.pipeline.work_lock import work_lock

    for note in preflight(shot):  # before anything is written
        log(f"note: {note}")
    with work_lock(shot.work, f"dubkernels dub {shot.name}"):
        removed = remove_temporaries(shot.work) + remove_temporaries(Path(shot.output).parent, recursive=False)
        if removed:
            log(f"note: removed {removed} temporary file(s) an interrupted run left")
        return _dub_locked(shot, start=start, until=until, dry_run=dry_run, force=force, report=report,
                           extra_files=extra_files, overall=overall, step_progress=step_progress, log=log,
                           quick=quick)


def _dub_locked(shot: Any, *, start: str | None, until: str | None, dry_run: bool, force: bool, report: bool,
                extra_files: dict[str, str] | None, overall: Progress | None, step_progress: Progress | None,
                log: Callable[[str], None], quick: bool) -> DubResult:
    """:func:`dub_shot`'s work, with the work folder locked."""
    from dubkernels.pipeline.graph import build_graph
    from dubkernels.pipeline.ownership import shot_record

    graph = build_graph(shot)
    delivers = not quick or CANDIDATES.get(shot.deliver) in TRAINING_FREE
    write_manifest(shot.work, shot.name, graph, extra_files, shot.deliver, quick=not delivers,
                   shot=shot_record(shot))
    only = None
    if quick:
        only = (graph.quick_look if report or not delivers
                else graph.delivery_needs(CANDIDATES[shot.deliver]))
    run = run_graph(graph, shot.work, start=start, until=until, dry_run=dry_run, force=force,
                    workers=shot.workers or None, overall=overall, step_progress=step_progress, log=log, only=only)
    result = DubResult(graph, run, shot.output if delivers else graph.files["own"])
    finished = until is None or graph.names.index(until) == len(graph.names) - 1
    if finished and not dry_run and not quick and not report and shot.deliver == "auto":
        log(f"not delivered: the report chooses the candidate; run `dubkernels report {shot.work}` and "
            f"`dubkernels deliver {shot.work}`, or pin one with --set shot.deliver=own_mouth")
    if finished and not dry_run and report:
        from dubkernels.report.write import write_report

        log("report: measuring " + ("the baselines (quick look)" if quick else "every candidate against the bar"))
        result.report = write_report(shot.work, shot.name, shot.ocio or None, step_progress,
                                     shot.lpips_model or None, shot.fid_model or None)
    if finished and not dry_run and delivers and (report or shot.deliver != "auto"):
        delivered = deliver_shot(shot.work, force=force, workers=shot.workers or None, step_progress=step_progress,
                                 log=log)
        run.results += delivered.results
    return result
