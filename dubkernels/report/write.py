"""Write the shot report: ``report/index.html`` (self-contained), ``report/metrics.json``, ``report/summary.md``
(the table in Markdown, for tickets and docs), ``report/review.mp4``."""
from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from dubkernels.colour import colour_spaces
from dubkernels.io.files import atomic_write, atomic_write_text
from dubkernels.io.sequences import resolve_sequence
from dubkernels.jobs.progress import Progress
from dubkernels.preview import plate_fps, write_png
from dubkernels.report.bar import CANDIDATES, MUSTS, Delivery, choose
from dubkernels.metrics.av_sync import AVSync
from dubkernels.report.collect import LABELS, ReportError, ShotMetrics, collect, load_files, load_manifest
from dubkernels.report.line import av_flags, line_under
from dubkernels.report.pictures import (chosen_frames, columns, contact_sheet, crop_sheet, plot_png, review_movie,
                                        worst_frames)
from dubkernels.tracks import load_track

WORST_FILE = "worst_frames.png"  # the delivered candidate's worst frames, 4x
DELIVERY_FILE = "delivery.json"  # the report's choice of the candidate to deliver

# (key, label, how to read it, format)
ROWS = (
    ("changed_outside_mask", "pixels changed outside the mask", "must be 0", "{:d}"),
    ("r_vs_dubber", "lip sync r vs dubber", "higher is better (1 = in step)", "{:.3f}"),
    ("shape_r_vs_dubber", "mouth-shape r vs dubber", "the 20 lip points' movement, variance-weighted; higher is "
                                                       "better", "{:.3f}"),
    ("closure_agreement", "closures honoured (%)", "dubber's lips closed / open and the result's too", "{:.1f}"),
    ("closure_closed", "  of closed frames (%)", "lips meet where the dubber's meet", "{:.1f}"),
    ("closure_open", "  of open frames (%)", "lips part where the dubber's part", "{:.1f}"),
    ("lips_lost_share", "  lips lost by dlib (share)", "re-detected inner lips crossed: sync not counted there",
     "{:.1%}"),
    ("best_lag", "best lag (frames)", "where the opening r peaks; 0 = in step, + = late", "{:+d}"),
    ("r_vs_truth", "lip sync r vs truth", "sample shot only", "{:.3f}"),
    ("r_vs_actor", "r vs the actor's own mouth", "near 0: the actor's lines are gone", "{:.3f}"),
    ("lmd", "LMD vs dubber render", "lower is better (paper 0.56-1.16, other units)", "{:.4f}"),
    ("lmd_movement", "LMD of the movement vs dubber", "each mouth less its median: the lips' build not "
                                                      "counted; lower is better", "{:.4f}"),
    ("identity_to_actor", "identity distance to actor", "lower is better; < 0.6 same person", "{:.3f}"),
    ("identity_to_dubber", "identity distance to dubber", "must exceed the distance to the actor", "{:.3f}"),
    ("psnr", "PSNR vs A0, whole frame (dB)", "higher: less change", "{:.2f}"),
    ("ssim", "SSIM vs A0, whole frame", "", "{:.5f}"),
    ("mouth_psnr", "PSNR vs A0, mouth box (dB)", "", "{:.2f}"),
    ("mouth_ssim", "SSIM vs A0, mouth box", "", "{:.4f}"),
    ("lpips", "LPIPS vs A0, mouth box", "lower: nearer the plate (paper 0.02-0.04, whole face)", "{:.4f}"),
    ("fid", "FID vs A0's mouth boxes", "lower is better (few frames: a rough guide)", "{:.2f}"),
    ("sharpness_vs_actor", "mouth sharpness / A0's", "skin, stubble around the lips; 1 = as sharp as the plate",
     "{:.3f}"),
    ("box_sharpness_vs_actor", "  whole mouth box / A0's", "lips and teeth too: changes with what the mouth shows",
     "{:.3f}"),
    ("jitter_vs_dubber", "mouth jitter / dubber's", "1 = as steady as the dubber", "{:.3f}"),
    ("flicker_vs_actor", "mouth-box flicker / A0's", "where the dubber's lips rest; 1 = as steady as the plate",
     "{:.3f}"),
    ("flicker_all_vs_actor", "  on every frame / A0's", "the new line's own movement counts too", "{:.3f}"),
    ("frames_without_face", "frames without a tracked face", "", "{:d}"),
    ("frames_undubbed", "frames left undubbed", "mouth box bit-identical to A0's; must be 0", "{:d}"),
)


@dataclass
class Report:
    folder: Path
    index: Path
    metrics: Path
    movie: Path
    data: ShotMetrics
    delivery: Delivery | None = None


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return fmt.format(int(value) if fmt in ("{:d}", "{:+d}") else value)


def summary_table(metrics: ShotMetrics) -> list[list[str]]:
    """The table rows: label, paste, own mouth, pass 1, pass 2, how to read it."""
    rows = []
    for key, label, reading, fmt in ROWS:
        values = [metrics.summary[n].get(key) for n in metrics.results]
        if all(v is None for v in values):
            continue
        rows.append([label] + [_cell(v, fmt) for v in values] + [reading])
    return rows


def _png_data(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def delivery_lines(metrics: ShotMetrics, delivery: Delivery | None) -> list[str]:
    """What the shot delivers (or, for a quick look, would deliver) and how it stands against the bar."""
    if delivery is None:
        return []
    lines = delivery.lines()
    if metrics.quick_look:
        lines[0] = "quick look, nothing delivered yet; " + lines[0].replace("delivered:", "the best so far:", 1)
    others = [v for v in delivery.ranking if v.result != delivery.candidate]
    if others:
        lines.append("  the others: " + "; ".join(f"{LABELS[v.result]} misses {v.missed}" + (
            f" (a must: {', '.join(k for k, (ok, _) in v.lines.items() if not ok and k in MUSTS)})"
            if v.musts_missed else "") for v in others))
    return lines + av_lines(metrics, delivery.candidate)


def av_lines(metrics: ShotMetrics, candidate: str) -> list[str]:
    """The line's A/V check: on the dubber's own mouth and on ``candidate``'s, and what it flags; or why there is
    none."""
    if "dubber" not in metrics.av or candidate not in metrics.av:
        return [f"  A/V   {note[len('sound: '):]}" for note in metrics.notes if note.startswith("sound: ")]
    dubber, delivered = AVSync.from_dict(metrics.av["dubber"]), AVSync.from_dict(metrics.av[candidate])
    return ([f"  A/V   the line on the dubber's own mouth: {dubber.text()}; on {LABELS[candidate]}: {delivered.text()}"]
            + [f"  FLAG  {flag}" for flag in av_flags(dubber, delivered)])


def render_html(name: str, metrics: ShotMetrics, plot: bytes, sheet: bytes, skipped: list[str],
                delivery: Delivery | None = None) -> str:
    """The self-contained report page."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["metric"] + [LABELS[n] for n in metrics.results] + ["reading"])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in summary_table(metrics))
    refs = metrics.references
    ref_text = ", ".join(f"{k.replace('_', ' ')} {_cell(v, '{:.4g}')}" for k, v in refs.items())
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in metrics.notes + skipped)
    frames = metrics.frames
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>DubKernels report: {html.escape(name)}</title>
<style>body{{font-family:sans-serif;margin:2em;background:#1e1e1e;color:#ddd}}table{{border-collapse:collapse}}
td,th{{border:1px solid #555;padding:4px 10px;text-align:right}}td:first-child,td:last-child{{text-align:left}}
img{{max-width:100%}}</style></head><body>
<h1>DubKernels shot report: {html.escape(name)}</h1>
<pre>{html.escape(chr(10).join(delivery_lines(metrics, delivery)))}</pre>
<p>{len(frames)} frames, {frames[0]}-{frames[-1]}. Baseline "paste" is the PoseAlign render composited with the
same mask and no identity network (the dubber's mouth: a sync reference, never delivered); "own mouth" is the
actor's own footage re-timed and warped to the dubber's mouth, no training; pass 1 and pass 2 are the paper's
identity-transfer passes. The shot delivers the candidate that ranks best against the bar, unless the shot file
pins one.</p>
<h2>Summary</h2><table><tr>{head}</tr>{body}</table>
<p>References: {html.escape(ref_text)}.</p>
<h2>Per-frame curves</h2><img src="{_png_data(plot)}" alt="curves">
<h2>Contact sheet</h2><p>{html.escape(" | ".join(label for _, label in columns(metrics.results)))}</p>
<img src="{_png_data(sheet)}" alt="contact sheet">
<h2>Notes</h2><ul>{notes}</ul>
<p>Every frame, the same columns: <a href="review.mp4">review.mp4</a>. Numbers: <a href="metrics.json">metrics.json</a>.</p>
</body></html>
"""


def render_markdown(name: str, metrics: ShotMetrics, skipped: list[str], sheet: str = "contact_sheet.png",
                    curves: str = "curves.png", delivery: Delivery | None = None, worst: str | None = None) -> str:
    """The summary as Markdown (the delivery, the table, references, notes, the pictures linked): for tickets
    and docs."""
    results = [LABELS[n] for n in metrics.results]
    verdict = delivery_lines(metrics, delivery)
    lines = [f"# DubKernels shot report: {name}", ""] + (["```", *verdict, "```", ""] if verdict else []) + [
             f"{len(metrics.frames)} frames, {metrics.frames[0]}-{metrics.frames[-1]}.", "",
             "| metric | " + " | ".join(results) + " | reading |", "|---|" + "---:|" * len(results) + "---|"]
    lines += ["| " + " | ".join(row) + " |" for row in summary_table(metrics)]
    refs = ", ".join(f"{k.replace('_', ' ')} {_cell(v, '{:.4g}')}" for k, v in metrics.references.items())
    lines += ["", f"References: {refs}.", "", "## Notes", ""] + [f"- {n}" for n in metrics.notes + skipped]
    lines += ["", "## Contact sheet", "", " | ".join(label for _, label in columns(metrics.results)), "",
              f"![contact sheet]({sheet})", "", "## Per-frame curves", "", f"![curves]({curves})", ""]
    if worst:
        lines += ["## The worst frames at 4x", "", "The delivered candidate's three frames furthest from the dubber's "
                  "mouth (LMD): actor | dubber | delivered, each plate pixel a 4x4 block.", "",
                  f"![worst frames]({worst})", ""]
    return "\n".join(lines)


def write_report(work: str | Path, name: str = "", ocio: str | None = None, progress: Progress | None = None,
                 lpips_model: str | Path | None = None, fid_model: str | Path | None = None) -> Report:
    """Measure the dub in ``work``, rank its candidates against the bar and write its report under ``work/report``
    (``delivery.json``: the candidate the shot delivers, read by ``dubkernels deliver``).

    LPIPS and FID are measured when their TorchScript files are given (see metrics/perceptual.py).
    """
    work = Path(work)
    progress = progress or Progress()
    manifest = load_manifest(work)
    files = load_files(work)
    name = name or manifest.get("name", work.name)
    models = None
    if lpips_model or fid_model:
        from dubkernels.metrics.perceptual import PerceptualModels

        models = PerceptualModels.load(lpips_model, fid_model)  # a bad file fails before any measuring
    progress.start("report: measure", None)
    metrics = collect(work, ocio, progress.callback(), progress.set_total, models)
    progress.finish()
    try:
        delivery = choose(metrics.summary, manifest.get("deliver", "auto"))
    except ValueError as exc:
        raise ReportError(f"{work}: {exc}.") from exc
    metrics.delivery = delivery.as_dict()
    metrics.quick_look = bool(manifest.get("quick")) or any(c in files and c not in metrics.results
                                                             for c in CANDIDATES.values())
    skipped = [f"{what}: skipped: no {option} given (a local {file}; nothing downloads at run time)"
               for what, option, file, given in (
                   ("LPIPS", "LPIPS model", "vgg16.pt of the StyleGAN2-ADA metrics", lpips_model),
                   ("FID", "FID model", "inception-2015-12-05.pt of the StyleGAN2-ADA metrics", fid_model))
               if not given]
    colour = colour_spaces(ocio)
    track = load_track(files["actor_track"])
    folder = work / "report"
    sheet_path = folder / "contact_sheet.png"
    write_png(sheet_path, contact_sheet(files, track, chosen_frames(metrics), colour, metrics.results))
    result = delivery.candidate if delivery.candidate in metrics.results else metrics.results[-1]
    worst = crop_sheet(files, track, worst_frames(metrics, result), colour, result, LABELS.get(result, result))
    if worst is not None:
        write_png(folder / WORST_FILE, worst)
    plot = plot_png(metrics)
    atomic_write(folder / "curves.png", lambda tmp: Path(tmp).write_bytes(plot), suffix=".png")
    index = folder / "index.html"
    atomic_write_text(index, render_html(name, metrics, plot, sheet_path.read_bytes(), skipped, delivery))
    atomic_write_text(folder / "metrics.json", json.dumps(metrics.as_dict(), indent=1) + "\n")
    atomic_write_text(folder / "summary.md", render_markdown(name, metrics, skipped, delivery=delivery,
                                                             worst=WORST_FILE if worst is not None else None))
    atomic_write_text(folder / DELIVERY_FILE, json.dumps(delivery.as_dict(), indent=1) + "\n")
    fps = plate_fps(resolve_sequence(files["actor"], metrics.frames[:1]), Fraction(25))
    sound = line_under(files, metrics.frames, float(fps))[0]
    progress.start("report: review movie", len(metrics.frames))
    movie = folder / "review.mp4"
    atomic_write(movie, lambda tmp: review_movie(Path(tmp), files, track, metrics.frames, colour, fps,
                                                 metrics.results, sound, progress.callback()), suffix=".mp4")
    progress.finish()
    return Report(folder, index, folder / "metrics.json", movie, metrics, delivery)
