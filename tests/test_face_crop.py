"""The face-crop loop shared by IdentitySwap and FaceSR: an exact round trip, the empty layer of a faceless frame."""
from __future__ import annotations

import numpy as np
import pytest

from dubkernels.colour import ColourSpaces
from dubkernels.face.align import template
from dubkernels.face.masks import face_mask
from dubkernels.io.frames import Frame, Window, new_frame, write_frame
from dubkernels.io.sequences import resolve_sequence
from dubkernels.jobs.spec import Job
from dubkernels.nets.checkpoint import save_checkpoint
from dubkernels.nets.config import config_from_dict
from dubkernels.nets.face_sr import FaceSR
from dubkernels.nets.ynet import YNet
from dubkernels.stages.face_crop import FaceCrop, FaceCropper, plate_layer, run_padded
from dubkernels.stages.face_sr import FaceSRStage
from dubkernels.stages.identity_swap import IdentitySwap
from dubkernels.stages.mouth_composite import mask_frame
from dubkernels.tracks import FrameRecord, Track, save_track

SIZE = 64  # the crop
DISPLAY = Window(5, 9, 160, 140)  # a display window off the origin: plate coordinates are relative to it
OFFSETS = {1001: (37, 41), 1003: (52, 30)}  # where each frame's face sits: the crop is a whole-pixel translation
FACELESS = 1002


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    """Half-float plates (values 0..1) and a track whose crop at SIZE is an integer translation; 1002 has no face."""
    folder = tmp_path_factory.mktemp("crop")
    rng = np.random.default_rng(7)
    plates = {}
    for f in (1001, 1002, 1003):
        plates[f] = rng.random((DISPLAY.height, DISPLAY.width, 3)).astype(np.float16)
        write_frame(folder / f"plate.{f}.exr", new_frame(plates[f], data_window=DISPLAY, display_window=DISPLAY))
    records = [FrameRecord(f, "detected", template(SIZE) + OFFSETS[f]) if f in OFFSETS else FrameRecord(f, "missing")
               for f in plates]
    track = Track("plate", DISPLAY.width, DISPLAY.height, records)
    save_track(track, folder / "plate.track.json")
    return folder, track, plates


def _masked_layer(cropper: FaceCropper, crop: FaceCrop, result: np.ndarray) -> Frame:
    """IdentitySwap's compositing: the face mask times the crop's coverage."""
    x0, y0, x1, y1 = crop.transform.paste_box(DISPLAY.width, DISPLAY.height)
    region = Window(x0, y0, x1 - x0, y1 - y0)
    rgb, coverage = cropper.paste_back(crop.transform, result, region)
    alpha = np.clip(face_mask(crop.landmarks).over(region) * coverage, 0.0, 1.0)
    return plate_layer(np.dstack([rgb * alpha[..., None], alpha]).astype(np.float32), region, crop.image)


def test_an_identity_network_pastes_back_the_plate_bit_for_bit(shot):
    folder, track, plates = shot
    identity = ColourSpaces(network_space="scene_linear")  # network space = working space: no conversion
    cropper = FaceCropper(resolve_sequence(str(folder / "plate.####.exr")), track, "plate", SIZE, identity)
    for f, (dx, dy) in OFFSETS.items():
        crop = cropper.read(f)
        assert isinstance(crop, FaceCrop) and np.allclose(crop.transform.matrix, [[1, 0, -dx], [0, 1, -dy]], atol=1e-9)
    layers = cropper.render([1001, 1002, 1003], lambda crops: crops, 3,
                            lambda crop, result: _masked_layer(cropper, crop, result))
    for f, layer in zip([1001, 1003], [layers[0], layers[2]]):
        w = layer.data_window
        plate = plates[f][w.y - DISPLAY.y : w.y_end - DISPLAY.y, w.x - DISPLAY.x : w.x_end - DISPLAY.x]
        solid = layer.pixels[..., 3] == 1.0
        assert solid.sum() > 0.2 * SIZE * SIZE  # the face mask's solid inside
        assert np.array_equal(layer.pixels[..., :3][solid], plate[solid])  # each frame its own face, exactly
    assert layers[1].data_window == Window(DISPLAY.x, DISPLAY.y, 1, 1)


def test_a_network_step_of_the_wrong_shape_is_refused():
    crops = np.zeros((2, SIZE, SIZE, 3), np.float32)
    assert run_padded(lambda x: x * 2, crops, 4).shape == crops.shape
    with pytest.raises(ValueError, match="crops must be"):
        run_padded(lambda x: x, crops[..., :2], 4)
    with pytest.raises(ValueError, match="the network step gave"):
        run_padded(lambda x: x[:2], crops, 4)  # dropped the padding


def test_both_stages_render_a_faceless_frame_as_the_same_empty_layer(shot):
    folder, _, _ = shot
    ynet = config_from_dict({"name": "tiny", "model": {"resolution": 32, "widths": [8, 16, 32]}})
    save_checkpoint(folder / "y.safetensors", YNet(ynet.ynet), ynet, "shot", 1)
    sr = config_from_dict({"name": "sr", "arch": "face_sr",
                           "model": {"resolution": 32, "scale": 2, "channels": 8, "blocks": 1}})
    save_checkpoint(folder / "sr.safetensors", FaceSR(sr.sr), sr, "shot", 0)
    empties = []
    for stage, checkpoint in ((IdentitySwap, "y"), (FaceSRStage, "sr")):
        inputs = {"face": str(folder / "plate.####.exr"), "face_track": str(folder / "plate.track.json"),
                  "checkpoint": str(folder / f"{checkpoint}.safetensors")}
        job = Job(stage.kind.name, inputs, {"out": str(folder / checkpoint / "out.####.exr")}, str(FACELESS))
        runner = stage(job)
        assert "1 frames without a face are rendered empty" in runner.prepare()
        empties.append(runner.render_batch([FACELESS])[0]["out"])
    expected = mask_frame(np.zeros((1, 1), np.float32), DISPLAY, DISPLAY)  # MouthComposite's empty: the display origin
    for layer in empties:
        assert layer.data_window == expected.data_window == Window(DISPLAY.x, DISPLAY.y, 1, 1)
        assert layer.display_window == DISPLAY
        assert layer.channel_names == ("R", "G", "B", "A") and not layer.pixels.any()
    assert empties[0].pixels.tobytes() == empties[1].pixels.tobytes()
