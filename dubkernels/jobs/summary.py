"""What a job run did, written as JSON beside its main output."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubkernels.io.files import atomic_write_text
from dubkernels.io.sequences import format_frames, parse_frames


@dataclass
class Summary:
    """Frames done and skipped, notes, time; ``path`` is where the summary file went."""

    stage: str
    job: str
    frames: str
    done: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    path: Path | None = None
    outputs: list[str] = field(default_factory=list)  # files a sequence-level job wrote

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "job": self.job, "frames": self.frames,
                "done": format_frames(self.done), "skipped": format_frames(self.skipped),
                "frames_done": len(self.done), "frames_skipped": len(self.skipped),
                "outputs": self.outputs, "warnings": self.notes, "seconds": round(self.seconds, 2)}


def _stem(pattern: Path, fallback: str) -> str:
    return pattern.name.split("#")[0].split("%")[0].rstrip("._") or fallback


def stage_warnings(main_pattern: str) -> list[str]:
    """The warnings of every summary written beside the frames of ``main_pattern`` (each chunk's), once each."""
    pattern = Path(main_pattern)
    warnings: list[str] = []
    for path in sorted(pattern.parent.glob(f"{_stem(pattern, '*')}.*.summary.json")):
        for warning in json.loads(path.read_text()).get("warnings", []):
            if warning not in warnings:
                warnings.append(warning)
    return warnings


def _chunk_of(path: Path) -> set[int]:
    """The frames a summary file covers (its ``frames`` field); none where it cannot be read."""
    try:
        return set(parse_frames(json.loads(path.read_text())["frames"]))
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def write_summary(summary: Summary, main_pattern: str, chunk: list[int]) -> Path:
    """Write STEM.RANGE.summary.json beside the frames of ``main_pattern``, and remove the summaries of earlier
    runs over any of ``chunk``'s frames (another chunking of the same job): the report then quotes this run's
    notes, not a stale run's beside them."""
    pattern = Path(main_pattern)
    stem = _stem(pattern, summary.stage)
    path = pattern.parent / f"{stem}.{format_frames(chunk).replace(',', '_')}.summary.json"
    atomic_write_text(path, json.dumps(summary.as_dict(), indent=1) + "\n")
    for older in pattern.parent.glob(f"{stem}.*.summary.json"):
        if older != path and _chunk_of(older) & set(chunk):
            older.unlink(missing_ok=True)
    return path
