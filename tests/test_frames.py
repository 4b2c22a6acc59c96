"""EXR round trips through dubkernels.io.frames on real files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from dubkernels.errors import FrameError
from dubkernels.io.frames import (
    PROVENANCE_ATTRIBUTE,
    Window,
    check_finite,
    new_frame,
    read_frame,
    write_frame,
)


def _random_half(rng, shape):
    return (rng.standard_normal(shape) * 4).astype(np.float16)


def _write_raw(path: Path, specs, arrays):
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), tuple(specs)) if len(specs) > 1 else out.open(str(path), specs[0])
    for i, (spec, arr) in enumerate(zip(specs, arrays)):
        if i:
            assert out.open(str(path), spec, "AppendSubimage")
        assert out.write_image(arr)
    out.close()


def _plate_spec(channels=("R", "G", "B", "A"), fmt="half", compression="zip"):
    spec = oiio.ImageSpec(40, 30, len(channels), fmt)
    spec.channelnames = channels
    spec.x, spec.y = 7, -3  # data window inside a larger display window (bbox/overscan)
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, 64, 48
    spec.attribute("compression", compression)
    spec.attribute("FramesPerSecond", oiio.TypeRational, (24000, 1001))
    spec.attribute("smpte:TimeCode", oiio.TypeTimeCode, (0x01000000, 0))
    spec.attribute("cameraMake", "ARRI")
    spec.attribute("focalLength", 35.0)
    return spec


def test_half_round_trip_is_bit_identical_with_windows_metadata_and_parts(tmp_path, rng):
    src = tmp_path / "src.1001.exr"
    main = _plate_spec(("R", "G", "B", "A", "depth.Z"))
    main.attribute("name", "rgba")
    extra = oiio.ImageSpec(40, 30, 2, "float")
    extra.channelnames = ("motion.u", "motion.v")
    extra.x, extra.y, extra.full_width, extra.full_height = 7, -3, 64, 48
    extra.attribute("name", "motion")
    extra.attribute("compression", "piz")
    a0, a1 = _random_half(rng, (30, 40, 5)), rng.standard_normal((30, 40, 2)).astype(np.float32)
    _write_raw(src, [main, extra], [a0, a1])

    frame = read_frame(src)
    dst = tmp_path / "out" / "dst.1001.exr"
    notes = write_frame(dst, frame, provenance={"stage": "test"})
    assert notes == []

    back = read_frame(dst)
    assert len(back.parts) == 2
    assert back.pixels.dtype == np.float16
    assert np.array_equal(back.pixels.view(np.uint16), a0.view(np.uint16))
    assert np.array_equal(back.parts[1].pixels, a1)
    assert back.parts[1].name == "motion"
    assert back.channel_names == ("R", "G", "B", "A", "depth.Z")
    assert back.data_window == Window(7, -3, 40, 30)
    assert back.display_window == Window(0, 0, 64, 48)
    spec = back.spec
    assert spec.get_string_attribute("compression") == "zip"
    assert back.parts[1].spec.get_string_attribute("compression") == "piz"
    assert tuple(spec.getattribute("FramesPerSecond")) == (24000, 1001)
    assert tuple(spec.getattribute("smpte:TimeCode")) == (0x01000000, 0)
    assert spec.get_string_attribute("cameraMake") == "ARRI"
    assert spec.getattribute("focalLength") == pytest.approx(35.0)
    prov = json.loads(spec.get_string_attribute(PROVENANCE_ATTRIBUTE))
    assert prov["stage"] == "test" and "dubkernels" in prov


def test_mixed_channel_types_keep_their_types(tmp_path, rng):
    src = tmp_path / "mixed.exr"
    spec = _plate_spec(("R", "G", "B", "Z"))
    spec.channelformats = (oiio.TypeHalf, oiio.TypeHalf, oiio.TypeHalf, oiio.TypeFloat)
    data = rng.standard_normal((30, 40, 4)).astype(np.float32)
    data[..., :3] = data[..., :3].astype(np.float16)
    _write_raw(src, [spec], [data])
    dst = tmp_path / "mixed_out.exr"
    write_frame(dst, read_frame(src))
    inp = oiio.ImageInput.open(str(dst))
    formats = [str(f) for f in inp.spec().channelformats]
    back = inp.read_image(0, 0, 0, 4, oiio.FLOAT)
    inp.close()
    assert formats == ["half", "half", "half", "float"]
    assert np.array_equal(back, data)


@pytest.mark.parametrize("lossy", ["dwaa", "dwab", "b44"])
def test_lossy_source_compression_is_not_reapplied(tmp_path, rng, lossy):
    src = tmp_path / f"{lossy}.exr"
    _write_raw(src, [_plate_spec(compression=lossy)], [_random_half(rng, (30, 40, 4))])
    frame = read_frame(src)
    dst = tmp_path / "out.exr"
    notes = write_frame(dst, frame)
    assert len(notes) == 1 and lossy in notes[0] and "zip" in notes[0]
    back = read_frame(dst)
    assert back.spec.get_string_attribute("compression") == "zip"
    # what was decoded from the lossy file survives our write bit for bit
    assert np.array_equal(back.pixels.view(np.uint16), frame.pixels.view(np.uint16))


def test_write_is_atomic_and_never_replaces_an_input(tmp_path, rng):
    src = tmp_path / "in.exr"
    write_frame(src, new_frame(np.ones((8, 8, 3), np.float32)))
    before = src.read_bytes()
    with pytest.raises(FrameError, match="refusing to write over an input"):
        write_frame(src, read_frame(src), protect=[src])
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.exr"]  # no temp file left behind


def test_failed_write_leaves_no_partial_file(tmp_path):
    bad = new_frame(np.ones((8, 8, 3), np.float32))
    bad.parts[0].pixels = np.ones((4, 4, 3), np.float16)  # does not match the spec: OIIO refuses
    dst = tmp_path / "x.exr"
    with pytest.raises((FrameError, ValueError, RuntimeError)):
        write_frame(dst, bad)
    assert list(tmp_path.iterdir()) == []


def test_missing_and_corrupt_frames_name_the_file(tmp_path):
    with pytest.raises(FrameError, match=r"nope\.1001\.exr \(frame 1001\): file not found"):
        read_frame(tmp_path / "nope.1001.exr", 1001)
    good = tmp_path / "good.exr"
    write_frame(good, new_frame(np.ones((64, 64, 3), np.float32)))
    corrupt = tmp_path / "corrupt.exr"
    corrupt.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    with pytest.raises(FrameError, match="corrupt"):
        read_frame(corrupt)
    garbage = tmp_path / "garbage.exr"
    garbage.write_bytes(b"not an exr at all" * 10)
    with pytest.raises(FrameError, match="garbage.exr"):
        read_frame(garbage)


def test_display_rgb_pads_data_window_into_display_window():
    pix = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    frame = new_frame(pix, pixel_type="float", data_window=Window(1, 2, 3, 2), display_window=Window(0, 0, 5, 5))
    full = frame.display_rgb()
    assert full.shape == (5, 5, 3)
    assert np.array_equal(full[2:4, 1:4], pix)
    assert full[0].sum() == 0 and full[:, 0].sum() == 0


def test_check_finite_names_where_and_position():
    rgb = np.zeros((4, 5, 3), np.float32)
    rgb[2, 3, 1] = np.nan
    with pytest.raises(FrameError, match=r"plate\.1001\.exr: 1 NaN/Inf .* x=3, y=2"):
        check_finite(rgb, "plate.1001.exr")
    check_finite(np.zeros((2, 2, 3), np.float32), "fine")


def test_oiiotool_reads_our_output(tmp_path):
    dst = tmp_path / "ours.exr"
    write_frame(dst, new_frame(np.full((16, 16, 3), 0.5, np.float32)))
    tool = Path(sys.executable).with_name("oiiotool")
    out = subprocess.run([str(tool), "--info", "-v", str(dst)], capture_output=True, text=True, check=True).stdout
    assert "3 channel, half openexr" in out and "dubkernels" not in out
