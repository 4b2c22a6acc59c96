"""Running the dubkernels engine from Nuke: find its virtual environment, run a job, read its progress.

Nuke's Python never imports torch, numpy or OpenImageIO: the plugin writes job specs and runs
``dubkernels run JOB.json --progress json`` in the engine's own virtual environment, named by
the ``DUBKERNELS_VENV`` environment variable. Progress arrives as one JSON object per line on
stderr; any other line is the engine speaking to a person (its errors name the file and the fix).

The engine starts with a clean environment (:func:`engine_environment`): Nuke sets PYTHONHOME, PYTHONPATH and
LD_LIBRARY_PATH for its own Python, which would make the engine's interpreter read Nuke's library folders. And it
must be the engine of the plugin's release: the first call checks ``dubkernels --version`` against the version
the gizmos were generated from. No `nuke` import here.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dubkernels_nuke.describe import plugin_version

VENV_VARIABLE = "DUBKERNELS_VENV"
# What the engine keeps of Nuke's environment: the user's home, locale and temporary folders, the colour config,
# GPU and thread settings, the farm's variables (its path mapping) and dubkernels' own. Nuke's Python and library
# folders (PYTHONHOME, PYTHONPATH, LD_LIBRARY_PATH, DYLD_*, QT_*...) never reach it.
KEPT_VARIABLES = frozenset({"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TZ", "LANG", "LANGUAGE", "TMPDIR", "TMP",
                            "TEMP", "DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS",
                            "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "USERPROFILE", "APPDATA", "LOCALAPPDATA"})
KEPT_PREFIXES = ("LC_", "OCIO", "DUBKERNELS_", "CUDA_", "NVIDIA_", "OMP_", "MKL_", "OPENJD_", "DEADLINE_")
SETUP_HINT = ("set {var} to the engine's virtual environment, the folder made by `python3 -m venv .venv && "
              ".venv/bin/pip install -e .` in a dubkernels checkout (see docs/compositor_guide.md, 'Install')")
POLL_SECONDS = 0.2


class EngineError(RuntimeError):
    """The engine cannot be found, or a job it ran failed (the message is what to fix)."""


class Cancelled(EngineError):
    """The user cancelled a job; what it finished is kept and a second run resumes."""


def engine_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the engine (and any program the plugin starts) runs in: ``environ`` (Nuke's) less what
    is Nuke's own (see ``KEPT_VARIABLES``)."""
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in environ.items() if k in KEPT_VARIABLES or k.startswith(KEPT_PREFIXES)}


_CHECKED: dict[str, str] = {}  # engine command -> its version, checked once a session


def check_version(command: list[str]) -> None:
    """Refuse an engine of another release than the plugin's (their jobs and knobs would not match)."""
    key = command[0]
    if key not in _CHECKED:
        try:
            done = subprocess.run(command + ["--version"], capture_output=True, text=True, encoding="utf-8",
                                  env=engine_environment(), timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EngineError(f"{key} does not run ({exc}); " + SETUP_HINT.format(var=VENV_VARIABLE) + ".") from exc
        _CHECKED[key] = done.stdout.strip().rpartition(" ")[2] if done.returncode == 0 else ""
    wanted = plugin_version()
    if _CHECKED[key] != wanted:
        raise EngineError(f"the DubKernels plugin is release {wanted}, but the engine {key} is "
                          f"{_CHECKED[key] or 'unreadable (dubkernels --version failed)'}: point {VENV_VARIABLE} at "
                          f"the engine of release {wanted}, or install the plugin of the engine's release.")


def engine_command() -> list[str]:
    """The `dubkernels` command of the engine's virtual environment, checked to be of the plugin's release; a
    clear error when it is not set up."""
    venv = os.environ.get(VENV_VARIABLE, "").strip()
    if not venv:
        raise EngineError("DubKernels engine not configured: " + SETUP_HINT.format(var=VENV_VARIABLE) + ".")
    folder = Path(venv).expanduser()
    for candidate in (folder / "bin" / "dubkernels", folder / "Scripts" / "dubkernels.exe"):
        if candidate.is_file():
            check_version([str(candidate)])
            return [str(candidate)]
    raise EngineError(f"{VENV_VARIABLE}={venv}: no dubkernels command in it (looked for bin/dubkernels and "
                      f"Scripts/dubkernels.exe); " + SETUP_HINT.format(var=VENV_VARIABLE) + ".")


@dataclass
class Event:
    """One progress event of the engine (``start``, ``progress``, ``message``, ``finish``)."""

    event: str
    step: str = ""
    done: int = 0
    total: int | None = None
    frame: int | None = None
    message: str = ""

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


@dataclass
class RunResult:
    """How a job run ended: its exit code and what it said (stdout, and stderr lines that were not JSON)."""

    code: int
    output: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def error_text(self) -> str:
        """The engine's own error lines; for a crash, its traceback's end; else the last thing it said."""
        errors = [line for line in self.said if ": error: " in line]
        if not errors and any(line.startswith("Traceback") for line in self.said):
            start = max(i for i, line in enumerate(self.said) if line.startswith("Traceback"))
            errors = ["dubkernels crashed (a bug: please report it with this text):"] + self.said[start:][-12:]
        return "\n".join(errors or self.said[-5:]) or f"dubkernels exited with code {self.code}"


def parse_event(line: str) -> Event | None:
    """The progress event on a stderr line, None when the line is not one."""
    if not line.startswith("{"):
        return None
    try:
        data: dict[str, Any] = json.loads(line)
    except ValueError:
        return None
    if "event" not in data:
        return None
    return Event(str(data["event"]), str(data.get("step", "")), int(data.get("done") or 0),
                 data.get("total"), data.get("frame"), str(data.get("message", "")))


def _pump(stream: Any, lines: "queue.Queue[tuple[str, str | None]]", name: str) -> None:
    for line in iter(stream.readline, ""):
        lines.put((name, line.rstrip("\n")))
    lines.put((name, None))


def _end_leftovers(process: "subprocess.Popen[str]") -> None:
    """Kill whatever the engine left running in its process group (it has exited; nothing of it is lost)."""
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run_job(job_file: str | Path, on_event: Callable[[Event], None] | None = None,
            cancelled: Callable[[], bool] | None = None, chunk: str | None = None,
            command: list[str] | None = None, own_group: bool = True) -> RunResult:
    """Run ``dubkernels run JOB --progress json``; ``on_event`` gets each progress event.

    ``cancelled`` is polled five times a second: when it returns True the engine is sent SIGTERM
    (it stops between frames, keeping every finished frame) and :class:`Cancelled` is raised.
    ``chunk`` (a-b) renders only the job's frames inside it (a farm chunk of a per-frame job).
    ``own_group`` starts the engine in its own process group (the GUI: what a cancelled engine leaves is
    killed with it); off in terminal mode, so a farm's signals to Nuke's group reach the engine too.
    A failed job raises :class:`EngineError` with the engine's own message.
    """
    args = (command or engine_command()) + ["run", str(job_file), "--progress", "json"]
    if chunk:
        args += ["--chunk", chunk]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                               errors="replace", bufsize=1, start_new_session=own_group and os.name == "posix",
                               env=engine_environment(),
                               creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    lines: "queue.Queue[tuple[str, str | None]]" = queue.Queue()
    for stream, name in ((process.stdout, "out"), (process.stderr, "err")):
        threading.Thread(target=_pump, args=(stream, lines, name), daemon=True).start()
    result, open_streams, stopping = RunResult(0), 2, False
    while open_streams:
        try:
            name, line = lines.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if process.poll() is not None:
                break  # the engine has exited; a left-over worker may still hold its pipes
            name, line = "", ""
        if line is None:
            open_streams -= 1
        elif name == "out":
            result.output.append(line)
        elif name == "err":
            event = parse_event(line)
            if event is None:
                result.said.append(line)
            elif on_event:
                on_event(event)
        if not stopping and cancelled and cancelled():
            stopping = True
            process.terminate()  # SIGTERM: the engine finishes the frames in flight, keeps them, and exits
    result.code = process.wait()
    if own_group:
        _end_leftovers(process)
    if stopping:
        raise Cancelled(f"cancelled: {Path(job_file).name} stopped; its finished frames are kept, and running it "
                        "again goes on from there.")
    if result.code != 0:
        raise EngineError(result.error_text())
    return result
