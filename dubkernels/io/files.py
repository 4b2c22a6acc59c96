"""Small JSON files (tracks, job specs, summaries): atomic writes and checked reads."""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

from dubkernels.errors import DubKernelsError


def _umask_mode() -> int:
    """The mode a new file gets under the current umask (0666 & ~umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], object], suffix: str = "") -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it into place.

    The file gets the mode the umask gives (not the temporary file's 0600), so other users of a
    farm can read it. A folder that cannot be written is a clear error naming it.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise DubKernelsError(f"{path}: cannot write in {path.parent} ({exc.strerror}); choose a writable output "
                              "folder or fix its permissions.") from exc
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise DubKernelsError(f"{path}: writing failed ({exc.strerror}); check disk space and permissions.") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


TEMPORARY_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$")  # atomic_write's: .NAME.XXXXXXXX[.ext]


def remove_temporaries(folder: Path, recursive: bool = True) -> int:
    """Remove the temporary files a killed run's atomic writes left in ``folder`` (named as :func:`atomic_write`
    names them); returns how many. Only safe where no other run writes: under the work folder's lock."""
    if not folder.is_dir():
        return 0
    found = folder.rglob(".*") if recursive else folder.glob(".*")
    stale = [p for p in found if TEMPORARY_NAME.match(p.name) and p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text atomically (temporary file beside ``path``, then rename)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def read_json_object(path: Path, kind: str, error: type[DubKernelsError], fix: str) -> dict[str, Any]:
    """A JSON object from ``path``; ``error`` naming the file, what is wrong and ``fix`` otherwise."""
    if not path.is_file():
        raise error(f"{kind} file {path} not found; {fix}.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid JSON ({exc}); {fix}.") from exc
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object; {fix}.")
    return data
