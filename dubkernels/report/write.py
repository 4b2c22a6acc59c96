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

import cv2
import numpy as np

from dubkernels.colour import colour_spaces
from dubkernels.io.files import atomic_write, atomic_write_text
from dubkernels.io.sequences import resolve_sequence
from dubkernels.jobs.progress import Progress
from dubkernels.preview import plate_fps, write_png
from dubkernels.report.bar import CANDIDATES, MUSTS, Delivery, choose
from dubkernels.metrics.av_sync import AVSync
from dubkernels.report.collect import LABELS, ReportError, ShotMetrics, collect, load_files, load_manifest
from dubkernels.report.line import av_flags, line_under
from dubkernels.report.look import Look, frames_to_look_at
from dubkernels.report.pictures import (chosen_frames, columns, contact_sheet, crop_sheet, look_thumb, plot_png,
                                        review_movie, worst_frames)
from dubkernels.tracks import load_track

WORST_FILE = "worst_frames.png"  # the delivered candidate's worst frames, 4x
LOOK_FILE = "frames_to_look_at.png"  # the frames to look at first, dubber | delivered, side by side
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


@dataclass(frozen=True)
class Shown:
    """A frame to look at as the page shows it: its time in the review movie and its thumbnail (PNG bytes)."""

    look: Look
    seconds: float
    png: bytes

    def caption(self) -> str:
        return f"frame {self.look.frame} ({self.seconds:.2f} s): {self.look.what}: {self.look.why}"


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
    reference = "dubber_take" if "dubber_take" in metrics.av else "dubber"  # the whole take, else its aligned stretch
    if reference not in metrics.av or candidate not in metrics.av:
        return [f"  A/V   {note[len('sound: '):]}" for note in metrics.notes if note.startswith("sound: ")]
    dubber, delivered = AVSync.from_dict(metrics.av[reference]), AVSync.from_dict(metrics.av[candidate])
    where = "the dubber take's own mouth (the whole take)" if reference == "dubber_take" else "the dubber's own mouth"
    return ([f"  A/V   the line on {where}: {dubber.text()}; on {LABELS[candidate]}: {delivered.text()}"]
            + [f"  FLAG  {flag}" for flag in av_flags(dubber, delivered)])


def _png_bytes(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ReportError("cannot encode a thumbnail as PNG")
    return data.tobytes()


def _looks_html(shown: list[Shown]) -> str:
    """Each frame to look at: its thumbnail, linking to its time in the review movie (the page's player seeks
    there; opened alone, the movie starts there)."""
    if not shown:
        return "<p>No frame stands out: no curve to choose from.</p>"
    cells = "".join(
        f'<figure><a href="review.mp4#t={s.seconds:.2f}" onclick="return seek({s.seconds:.2f})">'
        f'<img src="{_png_data(s.png)}" alt="frame {s.look.frame}"></a>'
        f"<figcaption><b>{html.escape(s.look.what)}</b>, frame {s.look.frame} ({s.seconds:.2f} s)<br>"
        f"{html.escape(s.look.why)}</figcaption></figure>" for s in shown)
    return f'<div class="looks">{cells}</div>'


def render_html(name: str, metrics: ShotMetrics, plot: bytes, sheet: bytes, skipped: list[str],
                delivery: Delivery | None = None, shown: list[Shown] | None = None) -> str:
    """The self-contained report page: the verdict, the frames to look at, the review movie with the line, then
    the table, the curves, the contact sheet and the notes."""
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
img{{max-width:100%}}#verdict{{font-size:15px;background:#2a2a2a;padding:8px 12px;white-space:pre-wrap}}
.looks{{display:flex;flex-wrap:wrap;gap:12px}}figure{{margin:0;width:320px}}figcaption{{font-size:13px}}
a{{color:#8cf}}</style>
<script>function seek(t){{var v=document.getElementById("review");if(!v)return true;v.currentTime=t;
v.scrollIntoView();return false;}}</script></head><body>
<h1>DubKernels shot report: {html.escape(name)}</h1>
<pre id="verdict">{html.escape(chr(10).join(delivery_lines(metrics, delivery)))}</pre>
<h2>Frames to look at</h2>{_looks_html(shown or [])}
<h2>Review movie</h2><p>Every frame, the same columns as the contact sheet, with the dubbed line where the dub has
one.</p>
<video id="review" controls preload="metadata" src="review.mp4" style="max-width:100%"></video>
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
<p>The movie alone: <a href="review.mp4">review.mp4</a>. Numbers: <a href="metrics.json">metrics.json</a>.</p>
</body></html>
"""


def render_markdown(name: str, metrics: ShotMetrics, skipped: list[str], sheet: str = "contact_sheet.png",
                    curves: str = "curves.png", delivery: Delivery | None = None, worst: str | None = None,
                    shown: list[Shown] | None = None, look: str | None = None) -> str:
    """The summary as Markdown (the delivery, the frames to look at, the table, references, notes, the pictures
    linked): for tickets and docs."""
    results = [LABELS[n] for n in metrics.results]
    verdict = delivery_lines(metrics, delivery)
    lines = [f"# DubKernels shot report: {name}", ""] + (["```", *verdict, "```", ""] if verdict else [])
    if shown:
        lines += ["## Frames to look at", "", "Times are in the review movie, [review.mp4](review.mp4).", ""]
        lines += [f"- {s.caption()}" for s in shown] + [""]
        lines += [f"Dubber | delivered, left to right: ![frames to look at]({look})", ""] if look else []
    lines += [f"{len(metrics.frames)} frames, {metrics.frames[0]}-{metrics.frames[-1]}.", "",
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
    fps = plate_fps(resolve_sequence(files["actor"], metrics.frames[:1]), Fraction(25))
    shown, thumbs = [], []
    for look in frames_to_look_at(metrics, result):
        thumb = look_thumb(files, track, look.frame, colour, result, LABELS.get(result, result))
        if thumb is not None:
            shown.append(Shown(look, look.seconds(metrics, float(fps)), _png_bytes(thumb)))
            thumbs.append(thumb)
    if thumbs:
        write_png(folder / LOOK_FILE, np.concatenate(thumbs, axis=1))
    index = folder / "index.html"
    atomic_write_text(index, render_html(name, metrics, plot, sheet_path.read_bytes(), skipped, delivery, shown))
    atomic_write_text(folder / "metrics.json", json.dumps(metrics.as_dict(), indent=1) + "\n")
    atomic_write_text(folder / "summary.md", render_markdown(name, metrics, skipped, delivery=delivery,
                                                             worst=WORST_FILE if worst is not None else None,
                                                             shown=shown, look=LOOK_FILE if thumbs else None))
    atomic_write_text(folder / DELIVERY_FILE, json.dumps(delivery.as_dict(), indent=1) + "\n")
    sound = line_under(files, metrics.frames, float(fps))[0]
    progress.start("report: review movie", len(metrics.frames))
    movie = folder / "review.mp4"
    atomic_write(movie, lambda tmp: review_movie(Path(tmp), files, track, metrics.frames, colour, fps,
                                                 metrics.results, sound, progress.callback()), suffix=".mp4")
    progress.finish()
    return Report(folder, index, folder / "metrics.json", movie, metrics, delivery)
