"""The template's Deliver switch set from a shot report: the candidate `dub`'s report ranks best (or pins).

The Switch carries a ``report`` file knob (a work folder's ``report/delivery.json``, written by ``dubkernels dub``
or ``dubkernels report``), a *From report* button and a ``chin`` knob; its inputs are the candidates' face layers in
the order of :data:`INPUTS`. The own mouth is a candidate twice, with the plate's chin and with its drawn chin: the
same layer, which Composite_final takes with the chin when the switch's ``chin`` is on (its knob follows the
switch's by expression).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import nuke

from dubkernels_nuke.buttons import show_error
from dubkernels_nuke.dknode import PluginError

INPUTS = ("own", "pass1", "pass2")  # the Deliver switch's inputs: own mouth, pass 1, pass 2
LINE_NODE = "Line"  # the template's AudioRead of the dubbed line
WITH_CHIN = {"own_chin": "own"}  # a candidate that is an input's layer composited with its drawn chin


def chosen_input(delivery_file: Path) -> tuple[int, bool, str]:
    """The Switch input of the candidate a report's ``delivery.json`` delivers, whether the composite takes the
    chin, and the candidate's name."""
    try:
        delivery = json.loads(delivery_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PluginError(f"no report at {delivery_file}; run `dubkernels dub SHOT.toml` (or `dubkernels report "
                          "WORK`) and point the report knob at WORK/report/delivery.json.") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise PluginError(f"{delivery_file} is not a shot report's delivery.json ({exc}).") from exc
    result = delivery.get("result") if isinstance(delivery, dict) else None
    layer = WITH_CHIN.get(str(result), result)
    if layer not in INPUTS:
        raise PluginError(f"{delivery_file} delivers {result!r}, not one of the template's candidates "
                          f"({', '.join([*INPUTS, *WITH_CHIN])}).")
    return INPUTS.index(layer), result in WITH_CHIN, str(delivery.get("candidate", result))


def line_wav(delivery_file: Path) -> str | None:
    """The dubbed line's WAV of the dub whose report ``delivery_file`` is (``WORK/report/delivery.json``: the
    ``line`` of ``WORK/files.json``, relative to WORK); None when the dub has no line."""
    work = delivery_file.parent.parent
    try:
        data = json.loads((work / "files.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    line = data.get("files", {}).get("line") if isinstance(data, dict) and isinstance(data.get("files"), dict) else None
    return str(work / line) if isinstance(line, str) and line else None


def from_report(switch: nuke.Node) -> None:
    """Set the Deliver switch (input and chin) to the candidate its report knob's ``delivery.json`` delivers, and
    the template's Line (an AudioRead) to the dub's WAV of the dubbed line."""
    name = switch.name()
    try:
        path = str(cast(nuke.File_Knob, switch["report"]).getEvaluatedValue() or "").strip()  # TCL and path maps
        if not path:
            raise PluginError("set the report knob to a shot's WORK/report/delivery.json first.")
        index, chin, candidate = chosen_input(Path(path))
        switch["which"].setValue(index)
        switch["chin"].setValue(chin)
        switch["label"].setValue(f"delivered: {candidate} (from the report)")
        line, wav = nuke.toNode(LINE_NODE), line_wav(Path(path))
        if line is not None and line.Class() == "AudioRead" and wav:
            line["file"].setValue(wav)
    except PluginError as exc:
        show_error(name, str(exc))
