"""The synthetic space-time benchmark: determinism, ground truth, MP4 and CVAT output, errors."""

from __future__ import annotations

import dataclasses
import json

import ffmpeg
import numpy as np
import pytest
from defusedxml import ElementTree as DET

from workers.models.spec import InputSpec
from workers.synthetic import (
    CLASS_COLOURS,
    CLASSES,
    SceneConfig,
    SyntheticConfigError,
    VideoIOError,
    generate_dataset,
    ground_truth,
    model_frames,
    read_clip,
    read_video,
    resize_frames,
    sample_indices,
    scene_for,
)
from workers.synthetic.__main__ import main as cli_main
from workers.synthetic.scene import DISTRACTOR_FLASH_COLOURS, NEUTRAL_COLOURS
from workers.synthetic.video import ffmpeg_exe


def target_pixels(scene, frame: int) -> np.ndarray:
    """Boolean (H, W) mask of the pixels the target changes, found by rendering without it."""
    without = dataclasses.replace(scene, objects=scene.objects[:-1])
    diff = scene.render(frame).astype(int) - without.render(frame).astype(int)
    return np.abs(diff).sum(axis=-1) > 0


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    return out, generate_dataset(out, n=3, seed=11, audio=True)


def test_same_seed_same_clip_different_seed_differs():
    a, b, c = scene_for(3, 5), scene_for(3, 5), scene_for(4, 5)
    assert np.array_equal(a.render_frames(), b.render_frames())
    assert ground_truth(a, audio=True) == ground_truth(b, audio=True)
    assert not np.array_equal(a.render_frames(), c.render_frames())
    assert ground_truth(a)["boxes"] != ground_truth(c)["boxes"]
    # Clips of one dataset differ from each other too, and classes cycle through the indices.
    assert not np.array_equal(a.render(0), scene_for(3, 6).render(0))
    assert [scene_for(0, i).label for i in range(8)] == list(CLASSES) * 2


def test_generate_dataset_is_deterministic(tmp_path):
    a = generate_dataset(tmp_path / "a", n=2, seed=5)
    b = generate_dataset(tmp_path / "b", n=2, seed=5)
    for ra, rb in zip(a, b, strict=True):
        assert ra.json_path.read_text() == rb.json_path.read_text()
        assert ra.cvat_path.read_text() == rb.cvat_path.read_text()
        assert np.array_equal(read_video(ra.video_path)[0], read_video(rb.video_path)[0])


@pytest.mark.parametrize("index", range(8))
def test_boxes_hug_the_target_pixels(index):
    scene = scene_for(21, index)
    gt = ground_truth(scene)
    first, last = gt["when"]["frames"]
    assert [b["frame"] for b in gt["boxes"]] == list(range(first, last + 1))
    for b in gt["boxes"]:
        ys, xs = np.nonzero(target_pixels(scene, b["frame"]))
        assert len(xs) > 20
        # every target pixel centre lies in the closed box ...
        assert (xs + 0.5 >= b["x0"]).all() and (xs + 0.5 <= b["x1"]).all()
        assert (ys + 0.5 >= b["y0"]).all() and (ys + 0.5 <= b["y1"]).all()
        # ... and the box is tight (pixel extents of the target)
        assert (b["x0"], b["y0"], b["x1"], b["y1"]) == (
            xs.min(),
            ys.min(),
            xs.max() + 1,
            ys.max() + 1,
        )
        assert 0 <= b["x0"] < b["x1"] <= gt["width"] and 0 <= b["y0"] < b["y1"] <= gt["height"]


@pytest.mark.parametrize("index", range(8))
def test_when_window_is_exactly_the_frames_where_the_target_flashes(index):
    scene = scene_for(22, index)
    gt = ground_truth(scene)
    class_rgb = np.array(CLASS_COLOURS[scene.label])
    flashing = []
    for f in range(gt["num_frames"]):
        img = scene.render(f)
        colour = np.median(img[target_pixels(scene, f)], axis=0)
        flashing.append(bool(np.abs(colour - class_rgb).max() <= 6))
    inside = [gt["when"]["start"] <= t <= gt["when"]["end"] for t in gt["frame_times"]]
    assert flashing == inside
    assert sum(inside) >= 2 and not inside[0] and not inside[-1]


def test_event_spans_two_sampled_frames_and_only_the_target_shows_a_class_colour():
    sampled = set(sample_indices(32, 8).tolist())
    assert sorted(sampled) == list(range(0, 32, 4))
    for index in range(300):
        scene = scene_for(23, index)
        first, last = scene.event_frames
        assert len(sampled & set(range(first, last + 1))) >= 2
        assert scene.target.colour in NEUTRAL_COLOURS  # static look says nothing of the class
        for obj in scene.objects[:-1]:
            assert obj.colour in NEUTRAL_COLOURS  # class colours belong to the target's event
            if obj.event == "flash":
                assert obj.event_colour in DISTRACTOR_FLASH_COLOURS
                assert obj.event_colour not in CLASS_COLOURS


def decode_audio(path, sample_rate=16000) -> np.ndarray:
    out, _ = (
        ffmpeg.input(str(path))
        .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=sample_rate)
        .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    )
    return np.frombuffer(out, "<i2").astype(np.float64) / 32768.0


def test_mp4_frames_timestamps_and_audio(dataset):
    out, records = dataset
    manifest = json.loads((out / "dataset.json").read_text())
    assert [c["clip_id"] for c in manifest["clips"]] == [r.clip_id for r in records]
    for rec in records:
        gt = json.loads(rec.json_path.read_text())
        assert gt == rec.ground_truth
        frames, times = read_video(rec.video_path)
        assert frames.shape == (32, 128, 128, 3)
        np.testing.assert_allclose(times, np.arange(32) / 16, atol=1e-6)
        rendered = scene_for(11, gt["index"]).render_frames()
        assert np.abs(frames.astype(int) - rendered).mean() < 6  # lossy, but the same pictures

        audio = decode_audio(rec.video_path)
        assert abs(len(audio) / 16000 - 2.0) < 0.05
        s, e = gt["sound"]["start"], gt["sound"]["end"]
        assert (s, e) == (gt["when"]["frames"][0] / 16, (gt["when"]["frames"][1] + 1) / 16)
        t = np.arange(len(audio)) / 16000
        inside = audio[(t > s + 0.03) & (t < e - 0.03)]
        outside = audio[(t < s - 0.05) | (t > e + 0.05)]
        assert np.sqrt(np.mean(inside**2)) > 10 * np.sqrt(np.mean(outside**2))
        spectrum = np.abs(np.fft.rfft(inside))
        peak = np.fft.rfftfreq(len(inside), 1 / 16000)[spectrum.argmax()]
        assert abs(peak - gt["sound"]["frequency_hz"]) < 20


def test_cvat_xml_has_one_track_with_a_keyframe_per_event_frame(dataset):
    _, records = dataset
    for rec in records:
        gt = rec.ground_truth
        root = DET.parse(str(rec.cvat_path)).getroot()
        assert root.tag == "annotations" and root.findtext("version") == "1.1"
        task = root.find("meta/task")
        assert task.findtext("size") == "32" and task.findtext("mode") == "interpolation"
        assert task.findtext("original_size/width") == "128"
        assert [x.findtext("name") for x in task.findall("labels/label")] == list(CLASSES)
        tracks = root.findall("track")
        assert len(tracks) == 1 and tracks[0].get("label") == gt["label"]
        boxes = tracks[0].findall("box")
        inside = [b for b in boxes if b.get("outside") == "0"]
        assert [int(b.get("frame")) for b in inside] == [b["frame"] for b in gt["boxes"]]
        assert all(b.get("keyframe") == "1" for b in boxes)
        for el, b in zip(inside, gt["boxes"], strict=True):
            got = [float(el.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")]
            assert got == [b["x0"], b["y0"], b["x1"], b["y1"]]
        end = boxes[-1]
        assert end.get("outside") == "1" and int(end.get("frame")) == gt["when"]["frames"][1] + 1


def test_read_clip_matches_the_in_memory_model_frames(dataset):
    _, records = dataset
    spec = InputSpec(num_frames=8, image_size=64, patch_size=8)
    rec = records[0]
    clip = read_clip(rec.video_path, spec)
    assert clip.frames.shape == (8, 64, 64, 3) and clip.frames.dtype == np.uint8
    np.testing.assert_allclose(clip.timestamps, np.arange(0, 32, 4) / 16, atol=1e-6)
    assert clip.source_size == (128, 128) and clip.video_id == rec.clip_id
    memory = model_frames(scene_for(11, rec.ground_truth["index"]), 8, 64)
    assert np.abs(clip.frames.astype(int) - memory).mean() < 4


def test_resize_is_area_averaging():
    x = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(1, 4, 4, 3)
    got = resize_frames(x, 2)
    want = np.rint(x.reshape(1, 2, 2, 2, 2, 3).mean(axis=(2, 4)) + 1e-9).astype(np.uint8)
    assert np.array_equal(got, want)
    y = np.full((2, 6, 9, 3), 77, np.uint8)  # non-integer factor
    assert np.array_equal(resize_frames(y, 4), np.full((2, 4, 4, 3), 77, np.uint8))


def test_cli_writes_clips(tmp_path, capsys):
    assert cli_main(["--n", "2", "--seed", "1", "--out", str(tmp_path / "d"), "--quiet"]) == 0
    assert len(list((tmp_path / "d").glob("*.mp4"))) == 2
    assert len(list((tmp_path / "d").glob("*.xml"))) == 2
    assert "wrote 2 clips" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"width": -64}, "width"),
        ({"height": 0}, "height"),
        ({"width": 127}, "even"),
        ({"num_frames": -1}, "num_frames"),
        ({"fps": 0}, "fps"),
        ({"radius": (-1.0, 5.0)}, "radius"),
        ({"radius": (5.0, 80.0)}, "radius"),
        ({"event_frames": (9, 8)}, "event_frames"),
        ({"event_frames": (4, 31)}, "event_frames"),
        ({"num_distractors": (-2, 3)}, "num_distractors"),
        ({"classes": ("red", "purple")}, "purple"),
        ({"distractor_event_probability": 1.5}, "distractor_event_probability"),
    ],
)
def test_bad_config_is_a_clear_value_error(kwargs, word):
    with pytest.raises(SyntheticConfigError, match=word) as info:
        SceneConfig(**kwargs)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"n": -3}, "n must"), ({"seed": -1}, "seed"), ({"n": 2.5}, "n must"), ({"crf": 99}, "crf")],
)
def test_bad_dataset_arguments_write_nothing(tmp_path, kwargs, word):
    out = tmp_path / "never"
    args = {"n": 2, "seed": 1, **kwargs}
    with pytest.raises(ValueError, match=word):
        generate_dataset(out, **args)
    assert not out.exists()


def test_cli_reports_bad_input(tmp_path, capsys):
    assert cli_main(["--n", "1", "--seed", "1", "--out", str(tmp_path), "--width", "-8"]) == 2
    assert "width" in capsys.readouterr().err
    assert cli_main(["--n", "-1", "--seed", "1", "--out", str(tmp_path / "x")]) == 2
    assert "n must" in capsys.readouterr().err


def test_video_errors_name_the_problem(tmp_path):
    with pytest.raises(VideoIOError, match="no video file"):
        read_video(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(VideoIOError, match="junk.mp4"):
        read_video(junk)
    with pytest.raises(VideoIOError, match="cannot sample"):
        sample_indices(4, 8)
