"""Nuke-style frame patterns and ranges on fileseq."""
from __future__ import annotations

from pathlib import Path

import pytest

from dubkernels.errors import SequenceError
from dubkernels.io.sequences import format_frames, output_sequence, parse_frames, resolve_sequence


def _touch(folder: Path, name: str, frames):
    for f in frames:
        (folder / name.format(f)).write_bytes(b"x")


@pytest.mark.parametrize("pattern", ["shot.####.exr", "shot.%04d.exr"])
def test_four_digit_patterns(tmp_path, pattern):
    _touch(tmp_path, "shot.{:04d}.exr", range(1001, 1006))
    seq = resolve_sequence(tmp_path / pattern)
    assert seq.frames == tuple(range(1001, 1006))
    assert seq.path(1003) == tmp_path / "shot.1003.exr"


def test_single_hash_is_one_digit_min_padding(tmp_path):
    _touch(tmp_path, "s.{}.exr", [1, 2, 3])
    assert resolve_sequence(tmp_path / "s.#.exr").frames == (1, 2, 3)
    assert output_sequence(tmp_path / "s.#.exr", [7]).path(7).name == "s.7.exr"


def test_range_in_pattern_and_frames_option(tmp_path):
    _touch(tmp_path, "p.{:04d}.exr", range(1, 11))
    assert resolve_sequence(tmp_path / "p.3-5####.exr").frames == (3, 4, 5)
    assert resolve_sequence(tmp_path / "p.####.exr", "2-8x3").frames == (2, 5, 8)


def test_missing_frames_are_reported_by_number(tmp_path):
    _touch(tmp_path, "m.{:04d}.exr", [1001, 1002, 1005, 1006])
    with pytest.raises(SequenceError, match=r"missing frames 1003-1004 of 1001-1006"):
        resolve_sequence(tmp_path / "m.####.exr")
    with pytest.raises(SequenceError, match=r"missing frames 1007-1010 .*folder holds frames 1001-1002,1005-1006.*"
                                            r"shot file's shot.frames"):
        resolve_sequence(tmp_path / "m.####.exr", "1005-1010")
    assert resolve_sequence(tmp_path / "m.####.exr", must_exist=False).missing() == [1003, 1004]


def test_bad_patterns_and_ranges(tmp_path):
    with pytest.raises(SequenceError, match="no frame number placeholder"):
        resolve_sequence(tmp_path / "still.exr")
    with pytest.raises(SequenceError, match="no frames found"):
        resolve_sequence(tmp_path / "none.####.exr")
    with pytest.raises(SequenceError, match="malformed"):
        parse_frames("10-x")


def test_format_frames_is_compact():
    assert format_frames([1, 2, 3, 7]) == "1-3,7"


def test_folder_names_with_pattern_characters_are_folders(tmp_path):
    for folder in ("take#2", "v@3", "a,b"):
        (tmp_path / folder).mkdir()
        _touch(tmp_path / folder, "p.{:04d}.exr", [1001, 1002])
        seq = resolve_sequence(tmp_path / folder / "p.####.exr")
        assert seq.frames == (1001, 1002) and seq.path(1002) == tmp_path / folder / "p.1002.exr"
