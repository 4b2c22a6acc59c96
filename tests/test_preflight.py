"""A shot's paths and frame rates checked before the first step: nothing written over a take or the work."""
from __future__ import annotations

import pytest

from dubkernels.cli.main import main
from dubkernels.errors import EXIT_USER_ERROR
from dubkernels.io.frames import read_frame, write_frame
from dubkernels.pipeline.preflight import preflight
from dubkernels.pipeline.shot import ShotError, load_shot, template
from dubkernels.sample import make_sample


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return make_sample(tmp_path_factory.mktemp("preflight") / "sample", 3)


def _shot(tmp_path, made, work: str = "work", output: str = "final/final.####.exr", dubber: str | None = None):
    text = template(made.actor, dubber or made.dubber).replace('work = "work"', f'work = "{work}"').replace(
        'output = "final/final.####.exr"', f'output = "{output}"')
    path = tmp_path / "shot.toml"
    path.write_text(text)
    return load_shot(path)


@pytest.mark.parametrize("work, output, message", [
    ("{plates}", "final/final.####.exr", "holds the actor take"),
    ("{plates}/..", "final/final.####.exr", "holds the actor take"),
    ("work", "work/comp/comp.####.exr", "lies in the work folder"),
    ("work", "{plates}/actor.####.exr", "names the actor take's frames"),
    ("work", "final/final.exr", "frame"),
    ("work", "blocker.txt/final/final.####.exr", "cannot be written"),
])
def test_paths_that_would_write_over_a_take_or_the_work_are_refused(made, tmp_path, work, output, message):
    plates = str(made.actor).rsplit("/", 1)[0]
    (tmp_path / "blocker.txt").write_text("a file where a folder should be")
    shot = _shot(tmp_path, made, work.format(plates=plates), output.format(plates=plates))
    with pytest.raises(ShotError, match=message):
        preflight(shot)


def test_a_take_without_a_frame_rate_is_said_to_be_matched_frame_for_frame(made, tmp_path):
    bare = tmp_path / "bare"
    for f in (1001, 1002, 1003):
        frame = read_frame(made.dubber.replace("####", str(f)))
        frame.spec.erase_attribute("FramesPerSecond")
        write_frame(bare / f"d.{f}.exr", frame)
    notes = preflight(_shot(tmp_path, made, dubber=str(bare / "d.####.exr")))
    assert any("dubber take carries no frame rate" in n and "25 fps" in n for n in notes)


def test_dub_refuses_before_writing_anything(made, tmp_path, capsys):
    _shot(tmp_path, made, work="work", output="work/final.####.exr")
    assert main(["dub", str(tmp_path / "shot.toml"), "--progress", "none"]) == EXIT_USER_ERROR
    assert "lies in the work folder" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()
