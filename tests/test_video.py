"""Video ingest on clips the tests write with PyAV, and on a shared clip when present."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from dubkernels.colour import ColourSpaces
from dubkernels.errors import ColourError, SequenceError, VideoError
from dubkernels.io.frames import PROVENANCE_ATTRIBUTE, read_frame
from dubkernels.io.video import DEFAULT_VIDEO_COLOURSPACE, ingest_video
from tests.conftest import shared_file

GREY = 128
SIZE = (48, 64)  # height, width
FRAMES = 10


def _bcd_timecode(h: int, m: int, s: int, f: int) -> int:
    return sum(((v // 10) << 4 | v % 10) << shift for v, shift in ((f, 0), (s, 8), (m, 16), (h, 24)))


def write_clip(path: Path, frames: int = FRAMES, value: int = GREY, fps: int = 25) -> Path:
    """A 64x48 flat-grey H.264 mov of ``frames`` frames tagged with timecode 01:00:00:00."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = SIZE[1], SIZE[0], "yuv420p"
        stream.metadata["timecode"] = "01:00:00:00"
        picture = np.full((*SIZE, 3), value, np.uint8)
        for _ in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 64x48, 10-frame, 25 fps mid-grey H.264 mov tagged with timecode 01:00:00:00."""
    return write_clip(tmp_path_factory.mktemp("clip") / "grey.mov")


@pytest.fixture(scope="module")
def colour() -> ColourSpaces:
    return ColourSpaces()


def _decoded_first_pixel(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")[0, 0]


def test_ingest_numbering_and_metadata(clip, colour, tmp_path):
    progress: list[int] = []
    result = ingest_video(clip, tmp_path / "plate.####.exr", colour=colour, progress=progress.append)
    assert result.frame_count == FRAMES and sum(progress) == FRAMES
    assert result.sequence.frames == tuple(range(1001, 1001 + FRAMES))
    assert result.fps == Fraction(25) and result.timecode == "01:00:00:00"
    assert clip.is_file()
    first = read_frame(tmp_path / "plate.1001.exr")
    assert first.spec.format == "half" and first.pixels.shape == (*SIZE, 3)
    assert first.spec.getattribute("FramesPerSecond") == (25, 1)
    assert colour.resolve(first.spec.getattribute("oiio:ColorSpace")) == colour.working  # OIIO stores the interop id
    assert first.spec.getattribute("smpte:TimeCode") == (_bcd_timecode(1, 0, 0, 0), 0)
    later = read_frame(tmp_path / "plate.1007.exr")
    assert later.spec.getattribute("smpte:TimeCode") == (_bcd_timecode(1, 0, 0, 6), 0)
    provenance = json.loads(later.spec.getattribute(PROVENANCE_ATTRIBUTE))
    assert provenance["stage"] == "ingest" and provenance["source"] == str(clip) and provenance["source_frame"] == 6


def test_ingest_colour_is_scene_linear(clip, colour, tmp_path):
    ingest_video(clip, tmp_path / "plate.####.exr", colour=colour, frames=[1001])
    decoded = _decoded_first_pixel(clip).astype(np.float32) / 255.0
    expected = colour.convert(decoded[None, None], DEFAULT_VIDEO_COLOURSPACE, colour.working)[0, 0]
    rgb = read_frame(tmp_path / "plate.1001.exr").rgb()
    np.testing.assert_allclose(rgb, np.broadcast_to(expected, rgb.shape), rtol=2e-3)
    assert 0.15 < float(rgb.mean()) < 0.25  # sRGB mid-grey is about 0.2 scene-linear


def test_ingest_frames_subset_and_start(clip, colour, tmp_path):
    result = ingest_video(clip, tmp_path / "p.%04d.exr", colour=colour, start_frame=1, frames=[2, 4, 5])
    assert result.sequence.frames == (2, 4, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.0002.exr", "p.0004.exr", "p.0005.exr"]
    prov = json.loads(read_frame(tmp_path / "p.0004.exr").spec.getattribute(PROVENANCE_ATTRIBUTE))
    assert prov["source_frame"] == 3


def test_ingest_frames_outside_clip(clip, colour, tmp_path):
    with pytest.raises(VideoError, match="past the clip's end"):
        ingest_video(clip, tmp_path / "p.####.exr", colour=colour, frames=[1009, 1010, 1011])
    with pytest.raises(VideoError, match="first frame 1001"):
        ingest_video(clip, tmp_path / "p.####.exr", colour=colour, frames=[1000])


def test_ingest_errors(clip, colour, tmp_path):
    with pytest.raises(VideoError, match="not found"):
        ingest_video(tmp_path / "absent.mov", tmp_path / "p.####.exr", colour=colour)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    with pytest.raises(VideoError, match="not a decodable video"):
        ingest_video(garbage, tmp_path / "p.####.exr", colour=colour)
    with pytest.raises(ColourError, match="not in OCIO config"):
        ingest_video(clip, tmp_path / "p.####.exr", "No Such Space", colour=colour)
    with pytest.raises(SequenceError, match="no frame number placeholder"):
        ingest_video(clip, tmp_path / "plate.exr", colour=colour)
    assert not list(tmp_path.glob("*.exr"))


def test_ingest_audio_only(colour, tmp_path):
    audio = tmp_path / "tone.m4a"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 48000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(VideoError, match="no video stream"):
        ingest_video(audio, tmp_path / "p.####.exr", colour=colour)


def test_cli_ingest(clip, tmp_path, capsys):
    from dubkernels.cli.main import main

    out = tmp_path / "cli.####.exr"
    assert main(["ingest", str(clip), str(out), "--colourspace", "srgb_tx", "--frames", "1001-1003"]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.exr")) == [f"cli.{f}.exr" for f in (1001, 1002, 1003)]
    printed = capsys.readouterr().out
    assert "1001-1003" in printed and "25 fps" in printed and "01:00:00:00" in printed

    assert main(["ingest", str(tmp_path / "absent.mov"), str(out)]) == 2
    err = capsys.readouterr().err
    assert "absent.mov" in err and "not found" in err and "Traceback" not in err


def test_ingest_shared_clip_first_frames(colour, tmp_path):
    path = shared_file("clips/lp_d18.mp4")
    result = ingest_video(path, tmp_path / "lp.####.exr", colour=colour, frames=[1001, 1002, 1003])
    assert result.frame_count == 3 and result.fps == Fraction(30)
    frame = read_frame(tmp_path / "lp.1003.exr")
    assert frame.pixels.shape == (480, 480, 3)
    assert frame.spec.getattribute("FramesPerSecond") == (30, 1)
