"""The engine's job-kind description as the gizmos were generated from it (no `nuke` import)."""
from __future__ import annotations

import functools
import json
from typing import Any

from dubkernels_nuke.paths import DESCRIBE_FILE


@functools.lru_cache(maxsize=1)
def kinds() -> dict[str, dict[str, Any]]:
    """Job kind name -> its `dubkernels describe --json` entry (params with types and defaults)."""
    data = json.loads(DESCRIBE_FILE.read_text(encoding="utf-8"))
    return {k["name"]: k for k in data["kinds"]}
