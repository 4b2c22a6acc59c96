"""What a job run did, written as JSON beside its main output."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubkernels.io.files import atomic_write_text
from dubkernels.io.sequences import format_frames


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


def write_summary(summary: Summary, main_pattern: str, chunk: list[int]) -> Path:
    """Write STEM.RANGE.summary.json beside the frames of ``main_pattern``."""
    pattern = Path(main_pattern)
    path = pattern.parent / f"{_stem(pattern, summary.stage)}.{format_frames(chunk).replace(',', '_')}.summary.json"
    atomic_write_text(path, json.dumps(summary.as_dict(), indent=1) + "\n")
    return path
