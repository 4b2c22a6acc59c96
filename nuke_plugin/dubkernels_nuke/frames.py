"""Frame numbers of EXR sequences on disk and frame-range text, for Nuke's Python (no fileseq, no `nuke`)."""
from __future__ import annotations

import os
import re
from pathlib import Path


def frame_path(pattern: str | Path, frame: int) -> Path:
    """The file of ``frame`` in a ``name.####.exr`` pattern (at least four digits)."""
    text = str(pattern)
    hashes = re.search(r"#+", text)
    if not hashes:
        raise ValueError(f"{text}: not a #### frame pattern")
    width = len(hashes.group(0))
    return Path(text[:hashes.start()] + f"{frame:0{width}d}" + text[hashes.end():])


def frames_on_disk(pattern: str | Path) -> list[int]:
    """The frame numbers whose files exist for a ``name.####.exr`` pattern, sorted."""
    path = Path(pattern)
    match = re.search(r"#+", path.name)
    if not match or not path.parent.is_dir():
        return []
    head, tail = re.escape(path.name[:match.start()]), re.escape(path.name[match.end():])
    found = re.compile(rf"^{head}(-?\d+){tail}$")
    return sorted(int(m.group(1)) for name in os.listdir(path.parent) if (m := found.match(name)))


def range_text(frames: list[int]) -> str:
    """1001-1005,1009 for [1001..1005, 1009]; '' for none."""
    parts, frames = [], sorted(set(frames))
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        parts.append(str(frames[i]) if i == j else f"{frames[i]}-{frames[j]}")
        i = j + 1
    return ",".join(parts)


def parse_range(text: str) -> list[int]:
    """The frames of '1001-1005,1009'."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-") if not part.startswith("-") else (part, "", "")
        out += list(range(int(first), int(last or first) + 1))
    return out
