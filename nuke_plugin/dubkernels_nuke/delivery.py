"""The template's Deliver switch set from a shot report: the candidate `dub`'s report ranks best (or pins).

The Switch carries a ``report`` file knob (a work folder's ``report/delivery.json``, written by ``dubkernels dub``
or ``dubkernels report``) and a *From report* button; its inputs are the candidates' face layers in the order of
:data:`INPUTS`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import nuke

from dubkernels_nuke.buttons import show_error
from dubkernels_nuke.dknode import PluginError

INPUTS = ("own", "pass1", "pass2")  # the Deliver switch's inputs: own mouth, pass 1, pass 2


def chosen_input(delivery_file: Path) -> tuple[int, str]:
    """The Switch input of the candidate a report's ``delivery.json`` delivers, and its name."""
    try:
        delivery = json.loads(delivery_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PluginError(f"no report at {delivery_file}; run `dubkernels dub SHOT.toml` (or `dubkernels report "
                          "WORK`) and point the report knob at WORK/report/delivery.json.") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise PluginError(f"{delivery_file} is not a shot report's delivery.json ({exc}).") from exc
    result = delivery.get("result") if isinstance(delivery, dict) else None
    if result not in INPUTS:
        raise PluginError(f"{delivery_file} delivers {result!r}, not one of the template's candidates "
                          f"({', '.join(INPUTS)}).")
    return INPUTS.index(result), str(delivery.get("candidate", result))


def from_report(switch: nuke.Node) -> None:
    """Set the Deliver switch to the candidate its report knob's ``delivery.json`` delivers."""
    name = switch.name()
    try:
        path = str(cast(nuke.File_Knob, switch["report"]).getEvaluatedValue() or "").strip()  # TCL and path maps
        if not path:
            raise PluginError("set the report knob to a shot's WORK/report/delivery.json first.")
        index, candidate = chosen_input(Path(path))
        switch["which"].setValue(index)
        switch["label"].setValue(f"delivered: {candidate} (from the report)")
    except PluginError as exc:
        show_error(name, str(exc))
