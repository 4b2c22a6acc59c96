"""The engine's job-kind description as the gizmos were generated from it (no `nuke` import)."""
from __future__ import annotations

import functools
import json
from typing import Any

from dubkernels_nuke.paths import DESCRIBE_FILE


@functools.lru_cache(maxsize=1)
def _snapshot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DESCRIBE_FILE.read_text(encoding="utf-8"))
    return data


@functools.lru_cache(maxsize=1)
def kinds() -> dict[str, dict[str, Any]]:
    """Job kind name -> its `dubkernels describe --json` entry (params with types and defaults)."""
    return {k["name"]: k for k in _snapshot()["kinds"]}


def plugin_version() -> str:
    """The engine release the gizmos and knobs were generated from: the one the plugin talks to."""
    return str(_snapshot()["dubkernels"])
