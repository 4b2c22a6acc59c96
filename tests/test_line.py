"""The dubbed line: read and written as sound, placed on the shot's timeline, muxed into the review movie."""
from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from dubkernels.io.audio import RATE, Audio, AudioError, has_audio, read_audio, write_wav
from dubkernels.io.frames import frames_per_second
from dubkernels.io.sequences import resolve_sequence
from dubkernels.jobs.spec import Job, JobError
from dubkernels.pipeline.graph import build_graph
from dubkernels.pipeline.shot import load_shot
from dubkernels.preview import Movie
from dubkernels.tasks.line import run_line
from tests.tiny_nets import tiny_sample, tiny_shot_text


def clicks(seconds: float, at: list[float], channels: int = 2) -> Audio:
    """Silence with a one-sample click (0.5) at each of ``at`` seconds."""
    samples = np.zeros((channels, int(seconds * RATE)), np.float32)
    for t in at:
        samples[:, int(round(t * RATE))] = 0.5
    return Audio(samples)


def click_times(audio: Audio) -> list[float]:
    return [round(i / audio.rate, 4) for i in np.flatnonzero(np.abs(audio.samples[0]) > 0.25)]


def test_a_wav_round_trips_and_a_cut_pads_with_silence(tmp_path):
    take = clicks(2.0, [0.5, 1.5])
    write_wav(tmp_path / "take.wav", take)
    back = read_audio(tmp_path / "take.wav")
    assert back is not None and back.samples.shape == take.samples.shape and back.start == 0.0
    np.testing.assert_allclose(back.samples, take.samples, atol=1e-6)  # 24-bit PCM
    cut = back.cut(1.0, 2.0)  # from 1 s for 2 s: the click at 1.5 s lands at 0.5 s, silence past the take's end
    assert cut.samples.shape[1] == 2 * RATE and click_times(cut) == [0.5]
    assert click_times(back.cut(-0.25, 1.0)) == [0.75]  # before the take: silence first
    assert not list(tmp_path.glob(".*"))  # written through a temporary file, renamed


def picture_only(path: Path) -> Path:
    """A five-frame video with no audio stream."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(5):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 40, np.uint8),
                                                                   format="rgb24")))
        container.mux(stream.encode())
    return path


def test_a_video_without_sound_and_bad_files_are_answered(tmp_path):
    silent_video = picture_only(tmp_path / "picture.mp4")
    assert not has_audio(silent_video) and read_audio(silent_video) is None
    with pytest.raises(AudioError, match="not found"):
        read_audio(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not a sound file")
    with pytest.raises(AudioError, match="not a readable media file"):
        read_audio(tmp_path / "junk.wav")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return tiny_sample(tmp_path_factory.mktemp("line"), 5)


def test_the_line_starts_at_the_actor_first_frame_shown_by_the_offsets(sample, tmp_path):
    _, made = sample
    actor = resolve_sequence(made.actor)
    fps = frames_per_second(actor.path(actor.first), actor.first) or 25.0
    write_wav(tmp_path / "line.wav", clicks(3.0, [0.3, 0.3 + 2 / fps]))
    job = Job("line", {"sound": str(tmp_path / "line.wav"), "actor": made.actor, "dubber": made.dubber},
              {"out": str(tmp_path / "final" / "final.wav")}, None, {"dubber_offset": 2, "audio_offset": 0.3})
    summary = run_line(job)
    line = read_audio(tmp_path / "final" / "final.wav")
    assert line is not None
    assert line.samples.shape[1] == round(len(actor.frames) / fps * RATE)  # as long as the plate
    assert click_times(line) == [0.0]  # the dubber's frame 2 (0.3 s + 2 frames in) at the plate's first frame
    assert any("the line:" in n for n in summary.notes)


def test_a_take_with_no_sound_gets_no_line_step_and_one_with_sound_does(sample, tmp_path):
    root, made = sample
    text = tiny_shot_text(root, made.actor, made.dubber, str(tmp_path / "work"), str(tmp_path / "out/shot.####.exr"))
    (tmp_path / "plain.toml").write_text(text)
    graph = build_graph(load_shot(tmp_path / "plain.toml"))
    assert "line" not in graph.names and "line" not in graph.files  # an EXR take, no [dubber] audio
    write_wav(tmp_path / "line.wav", clicks(1.0, [0.1]))
    (tmp_path / "sound.toml").write_text(text.replace('audio = ""', 'audio = "line.wav"').replace(
        "audio_offset = 0.0", "audio_offset = 1.5"))
    graph = build_graph(load_shot(tmp_path / "sound.toml"))
    step = graph.step("line")
    assert step.job.inputs["sound"] == str(tmp_path / "line.wav") and step.job.params["audio_offset"] == 1.5
    assert graph.files["line"] == str(tmp_path / "out" / "shot.wav")  # beside the shot's output
    with pytest.raises(JobError, match="has no audio stream"):
        run_line(Job("line", {"sound": str(picture_only(tmp_path / "p.mp4")), "actor": made.actor,
                              "dubber": made.dubber}, {"out": str(tmp_path / "x.wav")}))


def test_the_review_movie_carries_the_line(tmp_path):
    line = clicks(2.0, [1.0])
    movie = Movie(tmp_path / "review.mp4", 64, 64, Fraction(25), line.samples, line.rate)
    for i in range(50):
        movie.add(np.full((64, 64, 3), i * 5, np.uint8))
    movie.close()
    with av.open(str(tmp_path / "review.mp4")) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert float(video.duration * video.time_base) == pytest.approx(2.0, abs=0.05)
        assert float(audio.duration * audio.time_base) == pytest.approx(2.0, abs=0.05)
    sound = read_audio(tmp_path / "review.mp4")
    assert sound is not None and abs(int(np.argmax(np.abs(sound.samples[0]))) / RATE - 1.0) < 0.03  # the click


def test_the_report_checks_the_line_and_says_when_there_is_none(sample, tmp_path):
    from dubkernels.pipeline.dub import dub_shot

    root, made = sample
    text = tiny_shot_text(root, made.actor, made.dubber, str(tmp_path / "work"), str(tmp_path / "out/shot.####.exr"))
    (tmp_path / "shot.toml").write_text(text.replace('learned = "auto"', 'learned = "off"'))
    result = dub_shot(load_shot(tmp_path / "shot.toml"), log=lambda *_: None)
    metrics = json.loads(result.report.metrics.read_text())
    assert metrics["av"] == {} and any(n.startswith("sound: the dubber take has no sound") for n in metrics["notes"])
    assert "A/V   the dubber take has no sound" in (tmp_path / "work" / "report" / "summary.md").read_text()
    write_wav(tmp_path / "line.wav", clicks(1.0, [0.1]))
    (tmp_path / "shot.toml").write_text(text.replace('learned = "auto"', 'learned = "off"').replace(
        'audio = ""', 'audio = "line.wav"'))
    result = dub_shot(load_shot(tmp_path / "shot.toml"), log=lambda *_: None)
    assert (tmp_path / "out" / "shot.wav").is_file() and "line" in result.run.ran()
    metrics = json.loads(result.report.metrics.read_text())
    assert metrics["av"]["dubber"]["verdict"] == "too short"  # five frames: no A/V figure, said so
    assert metrics["av"]["dubber_take"]["verdict"] == "too short"  # the reference: the whole take, its own rate
    assert "A/V   the line on the dubber take's own mouth (the whole take): too short to measure" in (
        tmp_path / "work" / "report" / "summary.md").read_text()
    with av.open(str(result.report.movie)) as container:
        assert len(container.streams.audio) == 1
    shutil.rmtree(tmp_path / "work")


def test_a_candidate_missing_when_the_report_runs_is_named(sample, tmp_path):
    from dubkernels.pipeline.dub import dub_shot
    from dubkernels.report.write import write_report

    root, made = sample
    text = tiny_shot_text(root, made.actor, made.dubber, str(tmp_path / "work"), str(tmp_path / "out/shot.####.exr"))
    (tmp_path / "shot.toml").write_text(text.replace('learned = "auto"', 'learned = "off"'))
    result = dub_shot(load_shot(tmp_path / "shot.toml"), log=lambda *_: None)
    Path(result.graph.files["own_chin_track"]).unlink()
    report = write_report(tmp_path / "work")
    assert "own_chin" not in report.data.results
    assert any(n.startswith("own mouth + chin: not measured: its track") for n in report.data.notes)
