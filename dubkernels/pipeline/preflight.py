"""Checks of a shot before anything is written: the takes exist, and their frame rates can be matched."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from dubkernels.errors import DubKernelsError
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


def preflight(shot: Shot) -> list[str]:
    """Refuse a shot whose takes are missing or whose frame rates differ with retime off; notes otherwise."""
    actor, dubber = take_fps(shot.actor, "actor"), take_fps(shot.dubber, "dubber")
    if actor and dubber and actor != dubber:
        if not shot.stages.get("pose_align", {}).get("retime", True):
            raise ShotError(f"{shot.path}: the actor is {float(actor):g} fps and the dubber {float(dubber):g} fps, and "
                            "pose_align.retime is off: matched frame for frame, the dub would drift out of sync. "
                            "Turn retime on (the default) or conform the dubber to the actor's rate.")
        return [f"the actor is {float(actor):g} fps and the dubber {float(dubber):g} fps: dubber frames are matched "
                "by time"]
    return []
