"""Checks of a shot before anything is written: the takes exist, and their frame rates can be matched."""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from dubkernels.errors import DubKernelsError
from dubkernels.pipeline.ownership import check_owner
from dubkernels.pipeline.shot import Shot, ShotError, Take


def take_fps(take: Take, role: str) -> Fraction | None:
    """The take's frame rate (the video's, or its first EXR's FramesPerSecond); a clear error when it is missing."""
    if take.is_video:
        import av

        path = Path(take.source)
        if not path.is_file():
            raise ShotError(f"[{role}] source {path} not found; check the path to the clip.")
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise ShotError(f"[{role}] source {path} holds no video stream.")
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
        except av.error.FFmpegError as exc:
            raise ShotError(f"[{role}] source {path} is not a decodable video ({exc.strerror}).") from exc
        return Fraction(rate) if rate else None
    from dubkernels.io.frames import read_spec
    from dubkernels.io.sequences import resolve_sequence

    try:
        sequence = resolve_sequence(take.source)
    except DubKernelsError as exc:
        raise ShotError(f"[{role}] source: {exc}") from exc
    value = read_spec(sequence.path(sequence.first), sequence.first).getattribute("FramesPerSecond")
    return Fraction(int(value[0]), int(value[1])) if isinstance(value, tuple) and len(value) == 2 and value[1] else None


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both made absolute, links resolved)."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _writable_folder(folder: Path) -> bool:
    """Whether ``folder`` can be written, or made where it does not exist yet (its nearest existing parent)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def check_paths(shot: Shot) -> None:
    """Refuse a work folder or an output that would write over or beside what must not be touched: the work
    folder holding a take, the output among the work folder's files or over a take, an output pattern without a
    frame placeholder, a folder that cannot be written. Checked before the first step, not at the last."""
    from dubkernels.io.sequences import output_sequence

    where = str(shot.path)
    takes = [(role, Path(take.source)) for role, take in (("actor", shot.actor), ("dubber", shot.dubber))]
    for role, source in takes:
        if _inside(source.parent, shot.work):
            raise ShotError(f"{where}: shot.work = {shot.work} holds the {role} take ({source}): the work folder is "
                            "the dub's to write and to clean up; give it a folder of its own.")
    try:
        output_sequence(shot.output, [])
    except DubKernelsError as exc:
        raise ShotError(f"{where}: shot.output = {shot.output}: {exc}") from exc
    output = Path(shot.output)
    if _inside(output.parent, shot.work):
        raise ShotError(f"{where}: shot.output = {shot.output} lies in the work folder {shot.work}: the dub would "
                        "write the final shot over its own steps; put the output outside the work folder.")
    for role, source in takes:
        same_name = output.name.split("#")[0] == source.name.split("#")[0]
        if output.parent.resolve() == source.parent.resolve() and same_name:
            raise ShotError(f"{where}: shot.output = {shot.output} names the {role} take's frames ({source}): the "
                            "plate is never written over; give the output another folder or name.")
    for what, folder in (("shot.output", output.parent), ("shot.work", shot.work)):
        if not _writable_folder(folder):
            raise ShotError(f"{where}: {what}: {folder} cannot be written (permissions, or a read-only disk); choose "
                            "a writable folder or fix its permissions.")


def check_models(shot: Shot) -> None:
    """Refuse a model file the shot names that is not there, or (``train.init``) not a readable network
    checkpoint: before the first step, not when the step that reads it comes."""
    named = (("train.init", shot.train.init), ("report.lpips_model", shot.lpips_model),
             ("report.fid_model", shot.fid_model))
    for key, value in named:
        if value and not Path(value).is_file():
            raise ShotError(f"{shot.path}: {key} = {value}: not found; give the path to the file, or leave {key} "
                            "empty.")
    if shot.train.init:
        from dubkernels.nets.checkpoint import CheckpointError, load_checkpoint  # torch: only for an init to check

        try:
            load_checkpoint(shot.train.init)
        except CheckpointError as exc:
            raise ShotError(f"{shot.path}: train.init: {exc} Give a dubkernels network checkpoint, or leave "
                            "train.init empty.") from exc


def take_frames(take: Take) -> list[int]:
    """The frame numbers a take holds: an EXR sequence's on disk, a video's as `dub` numbers them (from the
    ingest's first frame, 1001); empty where a video does not say its length."""
    from dubkernels.io.sequences import resolve_sequence

    if take.is_video:
        from dubkernels.io.video import clip_frame_count
        from dubkernels.jobs.params import IngestParams

        first = IngestParams().start
        return list(range(first, first + clip_frame_count(take.source)))
    return list(resolve_sequence(take.source, must_exist=False).frames)


def check_frames(shot: Shot) -> None:
    """Refuse ``shot.frames`` outside the frames the actor take holds, naming them."""
    from dubkernels.io.sequences import format_frames, parse_frames

    if not shot.frames:
        return
    try:
        wanted = parse_frames(shot.frames)
    except DubKernelsError as exc:
        raise ShotError(f"{shot.path}: shot.frames = {shot.frames!r}: {exc}") from exc
    held = take_frames(shot.actor)
    outside = sorted(set(wanted) - set(held))
    if held and outside:
        raise ShotError(f"{shot.path}: shot.frames = {shot.frames!r} asks for frames {format_frames(outside)}, but the "
                        f"actor take holds frames {format_frames(held)}; give a range inside them (--set "
                        f"shot.frames={held[0]}-{held[-1]}), or leave shot.frames empty for all.")


def preflight(shot: Shot) -> list[str]:
    """Refuse a shot whose takes are missing, whose paths would write over what must not be touched, whose model
    files are missing or unreadable, or whose frame rates differ with retime off; notes otherwise (a frame rate
    assumed)."""
    check_paths(shot)
    check_models(shot)
    check_owner(shot)
    check_frames(shot)
    actor, dubber = take_fps(shot.actor, "actor"), take_fps(shot.dubber, "dubber")
    if bool(actor) != bool(dubber):
        known, unknown = ("actor", "dubber") if actor else ("dubber", "actor")
        rate = float(actor or dubber or 0)
        return [f"the {unknown} take carries no frame rate (no FramesPerSecond in its EXR headers): its frames are "
                f"matched one for one with the {known}'s at {rate:g} fps; if they were shot at another rate, write "
                "it into the headers or conform the take"]
    if actor and dubber and actor != dubber:
        if not shot.stages.get("pose_align", {}).get("retime", True):
            raise ShotError(f"{shot.path}: the actor is {float(actor):g} fps and the dubber {float(dubber):g} fps, and "
                            "pose_align.retime is off: matched frame for frame, the dub would drift out of sync. "
                            "Turn retime on (the default) or conform the dubber to the actor's rate.")
        return [f"the actor is {float(actor):g} fps and the dubber {float(dubber):g} fps: dubber frames are matched "
                "by time"]
    return []
