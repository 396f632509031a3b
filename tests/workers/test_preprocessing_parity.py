"""Preprocessing parity: clips follow the checkpoint's own image-processor rule exactly.

For random-weight TimeSformer and VideoMAE checkpoints whose ``preprocessor_config.json`` says
"short side, then centre crop, then normalize", the logits of our path (decode, resize, crop,
rescale, normalize) equal those of transformers' own image processor + model on the same decoded
frames of a non-square video. The bundled squash models keep their exact pipeline.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import torch

from workers.engine import explain
from workers.models.checkpoint_info import CheckpointError, read_checkpoint_info, spec_from_dict
from workers.models.loader import build_model, bundled_model_path, load_model, save_model
from workers.models.spec import InputSpec, Preprocessing, cell_rects, seen_mask
from workers.video import read_frame_timestamps, sample_clip, sliding_windows
from workers.video.decode import decode_frames
from workers.video.processor import center_crop, processor_frames
from workers.video.sample import uniform_indices

TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}
TOLERANCE = 1e-4
WIDTH, HEIGHT = 320, 180


def hf_processor_config(shortest_edge: int, crop: int, resample: int = 2) -> dict:
    """A preprocessor config as transformers writes it for a Kinetics-style video checkpoint."""
    return {
        "image_processor_type": "VideoMAEImageProcessor",
        "do_resize": True,
        "size": {"shortest_edge": shortest_edge},
        "resample": resample,
        "do_center_crop": True,
        "crop_size": {"height": crop, "width": crop},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.45, 0.45, 0.45],
        "image_std": [0.225, 0.225, 0.225],
    }


def write_checkpoint(directory, architecture, spec, processor: dict, seed: int):
    torch.manual_seed(seed)
    save_model(build_model(architecture, spec, ["a", "b", "c", "d", "e"], **TINY), directory)
    (directory / "preprocessor_config.json").write_text(json.dumps(processor))
    return directory


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A 320x180 (16:9) H.264 video with detail everywhere, 1.2 s at 25 fps."""
    path = tmp_path_factory.mktemp("parity") / "wide.mp4"
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={WIDTH}x{HEIGHT}:rate=25:duration=1.2",
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "libx264",
        str(path),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


CASES = {
    # TimeSformer checkpoints name VideoMAE's image processor; bilinear, short side 72 -> 64.
    "timesformer": (InputSpec(num_frames=4, image_size=64, patch_size=16), 72, 2),
    # VideoMAE with tubelets and a bicubic filter, short side 80 -> 64.
    "videomae": (InputSpec(num_frames=4, image_size=64, patch_size=16, tubelet_size=2), 80, 3),
    # The Kinetics checkpoints' own rule (short side 224, centre 224 x 224): here an upscale.
    "timesformer-224": (InputSpec(num_frames=2, image_size=224, patch_size=16), 224, 2),
}
# The source rectangle each model sees. 72: 128x72 after the resize, its centre 64x64 starts at
# (32, 4), so x 80..240 and y 10..170 of the 320x180 frame. 80: 142x80, the crop starts at
# (39, 8). 224: 398x224, the crop starts at (87, 0).
VIEWS = {
    "timesformer": (80.0, 10.0, 240.0, 170.0),
    "videomae": (39 * 320 / 142, 18.0, 103 * 320 / 142, 162.0),
    "timesformer-224": (87 * 320 / 398, 0.0, 311 * 320 / 398, 180.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_transformers_processor_and_model(tmp_path, video, case):
    from transformers import (
        AutoImageProcessor,
        TimesformerForVideoClassification,
        VideoMAEForVideoClassification,
    )

    architecture = case.split("-")[0]
    spec, short, resample = CASES[case]
    config = hf_processor_config(short, spec.image_size, resample)
    directory = write_checkpoint(tmp_path / case, architecture, spec, config, seed=7)

    # Ours: the checkpoint's rule is read into the spec and applied while sampling the clip.
    loaded = load_model(directory)
    prep = loaded.spec.preprocessing
    assert loaded.spec.fit == "processor"
    size = spec.image_size
    assert prep == Preprocessing(shortest_edge=short, crop=(size, size), resample=resample)
    assert loaded.spec.mean == (0.45,) * 3 and loaded.spec.std == (0.225,) * 3
    clip = sample_clip(video, loaded.spec)
    t = spec.num_frames
    assert clip.frames.shape == (t, size, size, 3) and clip.source_size == (WIDTH, HEIGHT)
    with torch.no_grad():
        ours_pixels = loaded.preprocess(clip.frames)
        ours = loaded.model(pixel_values=ours_pixels).logits

    # Theirs: the same decoded frames (display size) through transformers' processor + model.
    table = read_frame_timestamps(video).timestamps
    picks = uniform_indices(len(table), spec.num_frames)
    np.testing.assert_allclose(clip.timestamps, table[picks])
    frames, source_size = decode_frames(video, table, picks, 0, fit="source")
    assert source_size == (WIDTH, HEIGHT)
    assert frames.shape == (t, HEIGHT, WIDTH, 3)
    processor = AutoImageProcessor.from_pretrained(str(directory), local_files_only=True)
    cls = (
        TimesformerForVideoClassification
        if architecture == "timesformer"
        else VideoMAEForVideoClassification
    )
    model = cls.from_pretrained(str(directory), local_files_only=True).eval()
    theirs_pixels = processor(list(frames), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        theirs = model(pixel_values=theirs_pixels).logits

    assert theirs_pixels.shape == ours_pixels.shape == (1, t, 3, size, size)
    pixel_gap = float((theirs_pixels - ours_pixels).abs().max())
    logit_gap = float((theirs - ours).abs().max())
    print(f"{case}: max |pixel diff| {pixel_gap:.3g}, max |logit diff| {logit_gap:.3g}")
    assert pixel_gap == 0.0  # the same resize, crop and arithmetic, bit for bit
    assert logit_gap <= TOLERANCE

    # The squash would have shown the model other pixels.
    squashed = sample_clip(video, loaded.spec, fit="squash")
    assert not np.array_equal(squashed.frames, clip.frames)

    # Explanations say which part of the source frame the model saw.
    assert clip.view == pytest.approx(VIEWS[case])
    (result,) = explain(loaded, clip, "staa")
    assert result.view == pytest.approx(VIEWS[case])


def test_sliding_windows_follow_the_checkpoint_rule(tmp_path, video, monkeypatch):
    from workers.video import decode as decode_module

    spec, short, resample = CASES["timesformer"]
    config = hf_processor_config(short, spec.image_size, resample)
    directory = write_checkpoint(tmp_path / "t", "timesformer", spec, config, seed=1)
    spec = load_model(directory).spec
    monkeypatch.setattr(decode_module, "SOURCE_CHUNK_FRAMES", 3)  # several decodes per batch
    clips = list(sliding_windows(video, spec, window=0.5, stride=0.5))
    assert len(clips) == 3
    for clip in clips:
        single = sample_clip(video, spec, start=clip.timestamps[0], end=clip.timestamps[0] + 0.5)
        assert np.array_equal(clip.frames, single.frames)
        assert clip.view == single.view


def test_synthetic_clips_follow_the_rule_too():
    from workers.synthetic import clip_from_frames

    frames = np.random.default_rng(3).integers(0, 256, (6, HEIGHT, WIDTH, 3), dtype=np.uint8)
    prep = Preprocessing(shortest_edge=72, crop=(64, 64))
    spec = InputSpec(num_frames=3, image_size=64, patch_size=16, preprocessing=prep)
    clip = clip_from_frames(frames, np.arange(6) / 10, spec)
    assert np.array_equal(clip.frames, processor_frames(frames[[0, 2, 4]], prep))
    assert clip.view == pytest.approx((80.0, 10.0, 240.0, 170.0))
    squash = clip_from_frames(
        frames, np.arange(6) / 10, dataclasses.replace(spec, preprocessing=None)
    )
    assert squash.view is None and squash.view_rect() == (0.0, 0.0, 320.0, 180.0)


def test_bundled_models_keep_the_squash():
    for name in ("tiny-timesformer", "tiny-av-transformer"):
        arch, spec, _labels = read_checkpoint_info(bundled_model_path().parent / name)
        assert spec.preprocessing is None and spec.fit == "squash", name


def test_bundled_model_outputs_come_from_the_squash_pipeline(tmp_path, video):
    """The bundled model's clip is ffmpeg's area squash and its input the old arithmetic."""
    loaded = load_model(bundled_model_path())
    clip = sample_clip(video, loaded.spec)
    assert clip.view == (0.0, 0.0, float(WIDTH), float(HEIGHT))
    table = read_frame_timestamps(video).timestamps
    picks = uniform_indices(len(table), loaded.spec.num_frames)
    frames, _ = decode_frames(video, table, picks, loaded.spec.image_size, fit="squash")
    assert np.array_equal(clip.frames, frames)
    x = torch.from_numpy(frames[None]).permute(0, 1, 4, 2, 3).to(torch.float32).div_(255.0)
    x = (x - 0.5) / 0.5
    with torch.no_grad():
        assert torch.equal(loaded.preprocess(clip.frames), x)
        expected = torch.softmax(loaded.model(pixel_values=x).logits, -1).numpy()
    assert np.array_equal(loaded.predict(clip.frames), expected)


# --- reading the rule -------------------------------------------------------------------------


def tiny_dir(tmp_path, processor: dict | None):
    directory = tmp_path / "m"
    torch.manual_seed(0)
    save_model(build_model("timesformer", InputSpec(4, 32, 8), ["a", "b"], **TINY), directory)
    if processor is not None:
        (directory / "preprocessor_config.json").write_text(json.dumps(processor))
    return directory


def test_save_model_writes_an_explicit_squash_and_round_trips_a_rule(tmp_path):
    directory = tiny_dir(tmp_path, None)
    assert json.loads((directory / "preprocessor_config.json").read_text())["fit"] == "squash"
    assert read_checkpoint_info(directory)[1].preprocessing is None
    # A spec with its own rule is written as image-processor settings and read back the same.
    prep = Preprocessing(shortest_edge=40, crop=(32, 32), resample=3)
    loaded = load_model(directory)
    loaded.spec = dataclasses.replace(loaded.spec, preprocessing=prep)
    save_model(loaded, tmp_path / "again")
    assert read_checkpoint_info(tmp_path / "again")[1] == loaded.spec
    assert spec_from_dict(json.loads(json.dumps(loaded.spec.to_dict()))) == loaded.spec


@pytest.mark.parametrize(
    ("processor", "words"),
    [
        ({"size": {"shortest_edge": 40}, "crop_size": {"height": 48, "width": 48}}, "48x48"),
        ({"size": {"shortest_edge": 40}, "do_center_crop": False}, "aspect ratio"),
        ({"size": {"max_height": 40, "max_width": 40}}, "not supported"),
        ({"fit": "stretch"}, "fit must be"),
        ({"size": 40, "crop_size": 32, "resample": 9}, "resample"),
    ],
)
def test_rules_that_do_not_fit_the_model_are_refused(tmp_path, processor, words):
    directory = tiny_dir(tmp_path, processor)
    with pytest.raises(CheckpointError, match=words):
        read_checkpoint_info(directory)


def test_rule_defaults_and_legacy_configs(tmp_path):
    # Only normalization: the squash, as before.
    directory = tiny_dir(tmp_path, {"image_mean": [0.4] * 3, "image_std": [0.2] * 3})
    assert read_checkpoint_info(directory)[1].preprocessing is None
    # transformers' size forms: an int is the short side, crop_size an int a square.
    (directory / "preprocessor_config.json").write_text(json.dumps({"size": 36, "crop_size": 32}))
    assert read_checkpoint_info(directory)[1].preprocessing == Preprocessing(
        shortest_edge=36, crop=(32, 32)
    )
    # An exact resize without a crop is the processor's own squash (its filter, not ffmpeg's).
    exact = {"size": {"height": 32, "width": 32}, "do_center_crop": False, "do_rescale": False}
    (directory / "preprocessor_config.json").write_text(json.dumps(exact))
    prep = read_checkpoint_info(directory)[1].preprocessing
    assert prep == Preprocessing(shortest_edge=None, height=32, width=32, crop=None,
                                 rescale_factor=None)  # fmt: skip
    assert prep.view(320, 180) == (0.0, 0.0, 320.0, 180.0)


# --- geometry ---------------------------------------------------------------------------------


def test_resize_and_crop_match_transformers_on_awkward_sizes():
    from transformers.image_transforms import center_crop as hf_center_crop
    from transformers.image_transforms import get_size_with_aspect_ratio

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (5, 9, 3), dtype=np.uint8)
    for height, width in [(3, 3), (8, 4), (8, 12), (5, 9), (2, 11)]:
        theirs = hf_center_crop(frame, (height, width), input_data_format="channels_last")
        assert np.array_equal(center_crop(frame, height, width), theirs), (height, width)
    # Portrait frames: the width is the short side.
    prep = Preprocessing(shortest_edge=16, crop=(16, 16))
    assert prep.resized_size(90, 160) == (16, 28)
    portrait = rng.integers(0, 256, (2, 160, 90, 3), dtype=np.uint8)
    assert processor_frames(portrait, prep).shape == (2, 16, 16, 3)
    assert prep.view(90, 160) == pytest.approx((0.0, 6 * 160 / 28, 90.0, 22 * 160 / 28))
    # longest_edge caps the long side (transformers' get_size_with_aspect_ratio).
    capped = Preprocessing(shortest_edge=100, longest_edge=120, crop=(32, 32))
    for width, height in [(320, 180), (180, 320), (100, 100), (333, 101)]:
        oh, ow = get_size_with_aspect_ratio((height, width), 100, 120)
        assert capped.resized_size(width, height) == (ow, oh)


def test_token_cells_map_back_to_source_rectangles():
    view = (80.0, 10.0, 240.0, 170.0)
    rects = cell_rects(view, (4, 4))
    assert rects.shape == (4, 4, 4)
    assert tuple(rects[0, 0]) == (80.0, 10.0, 120.0, 50.0)
    assert tuple(rects[3, 3]) == (200.0, 130.0, 240.0, 170.0)
    seen = seen_mask(view, (320, 180))
    assert seen.shape == (180, 320)
    assert seen[10:170, 80:240].all() and seen.sum() == 160 * 160  # the borders were not seen
    full = seen_mask((0.0, 0.0, 320.0, 180.0), (320, 180))
    assert full.all()


def test_pointing_games_score_the_cells_over_the_view():
    from workers.metrics.pointing import (
        max_cell_points,
        spacetime_pointing_game,
        spatial_pointing_game,
    )

    view = (80.0, 10.0, 240.0, 170.0)
    maps = np.zeros((2, 4, 4), np.float32)
    maps[:, 0, 0] = 1.0
    px, py, _ = max_cell_points(maps, (320, 180), view)
    assert px.tolist() == [100.0, 100.0] and py.tolist() == [30.0, 30.0]
    # Without a view nothing changes: the cells tile the whole frame.
    px, py, _ = max_cell_points(maps, (320, 180))
    assert px.tolist() == [40.0, 40.0] and py.tolist() == [22.5, 22.5]

    boxes = np.array([[[90.0, 20.0, 110.0, 40.0]], [[0.0, 0.0, 50.0, 180.0]]])  # seen, unseen
    result = spatial_pointing_game(maps, boxes, None, (320, 180), view=view)
    assert result.hits.tolist() == [True, False]
    assert result.counted.tolist() == [True, False]  # the second object was never in view
    plain = spatial_pointing_game(maps, boxes, None, (320, 180))
    assert plain.counted.tolist() == [True, True]

    volume = maps[None]  # one clip of two map frames
    segments = np.array([[[0.0, 1.0]]])
    result = spacetime_pointing_game(
        volume, [[0.0, 0.5]], segments, None, boxes[None], None, (320, 180), view=view
    )
    assert result.hits.tolist() == [True] and result.counted.tolist() == [True]
    unseen = boxes[None].copy()
    unseen[0, 0] = [0.0, 0.0, 50.0, 180.0]
    result = spacetime_pointing_game(
        volume, [[0.0, 0.5]], segments, None, unseen, None, (320, 180), view=view
    )
    assert result.counted.tolist() == [False]
    with pytest.raises(ValueError, match="view"):
        max_cell_points(maps, (320, 180), (10.0, 0.0, 5.0, 1.0))


def test_energy_game_over_the_view():
    from workers.metrics.pointing import energy_pointing_game

    view = (80.0, 10.0, 240.0, 170.0)
    maps = np.zeros((3, 4, 4), np.float32)
    maps[:, 0, 0] = 1.0  # all the mass on the cell over x 80..120, y 10..50 of the source
    boxes = np.array(
        [
            [[80.0, 10.0, 120.0, 50.0]],  # exactly that cell
            [[60.0, 0.0, 100.0, 30.0]],  # a quarter of it, partly outside the view
            [[0.0, 0.0, 50.0, 180.0]],  # outside the view: not seen
        ]
    )
    result = energy_pointing_game(maps, boxes, None, (320, 180), view=view)
    assert result.scores[:2] == pytest.approx([1.0, 0.25])
    assert result.counted.tolist() == [True, True, False]
    plain = energy_pointing_game(maps, boxes, None, (320, 180))
    assert plain.counted.tolist() == [True, True, True]
