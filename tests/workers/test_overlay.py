"""workers.overlay: colormaps, upsampling, blending, the temporal strip, MP4 and PNG exports."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.explanations_support import ffprobe_frames, make_video_file
from workers import overlay


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video_file(tmp_path_factory.mktemp("v") / "clip.mp4", seconds=1.0, fps=8)


def read_png(path) -> np.ndarray:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    pos, idat = 8, b""
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * 3)
    assert np.all(raw[:, 0] == 0)  # filter type "none" on every row
    return raw[:, 1:].reshape(height, width, 3)


def test_colormaps():
    for name in overlay.COLORMAPS:
        lut = overlay.colormap_lut(name)
        assert lut.shape == (256, 3) and lut.dtype == np.uint8
    gray = overlay.colormap_lut("gray")
    assert np.array_equal(gray[:, 0], np.arange(256))
    jet = overlay.colormap_lut("jet")
    assert tuple(jet[0]) == (0, 0, 131) and tuple(jet[255]) == (128, 0, 0)
    with pytest.raises(ValueError, match="unknown colormap"):
        overlay.colormap_lut("rainbow")


def _luminance(rgb) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


@pytest.mark.parametrize("name", ["viridis", "cividis"])
def test_colour_blind_safe_maps_brighten_steadily(name):
    """Perceptually uniform maps: lightness rises with the value, so order survives greyscale
    and red-green colour blindness."""
    lum = _luminance(overlay.colormap_lut(name))
    assert np.all(np.diff(lum) >= -1e-3), f"{name} gets darker somewhere"
    assert lum[-1] - lum[0] > 0.6


def test_the_player_draws_with_the_exports_colours():
    """The browser's tables (frontend colormap.ts) have the export renderer's anchors."""
    import re
    from pathlib import Path

    source = (
        Path(__file__).resolve().parents[2] / "frontend/src/pages/explanations/colormap.ts"
    ).read_text()
    block = source.split("const ANCHORS", 1)[1].split("};", 1)[0]
    browser: dict[str, list[tuple[float, tuple[int, int, int]]]] = {}
    for name, body in re.findall(r"\n  (\w+): \[(.*?)\n  \],", block, flags=re.S):
        browser[name] = [
            (float(x), (int(r), int(g), int(b)))
            for x, r, g, b in re.findall(r"\[([\d.]+), \[(\d+), (\d+), (\d+)\]\]", body)
        ]
    assert set(browser) == set(overlay.COLORMAPS)
    for name in overlay.COLORMAPS:
        assert browser[name] == overlay._ANCHORS[name], name


def test_normalize():
    assert np.allclose(overlay.normalize(np.array([2.0, 4.0, 3.0])), [0, 1, 0.5])
    assert np.all(overlay.normalize(np.full((2, 2), 7.0)) == 0)


def test_bilinear_upsampling_uses_cell_centres():
    frame = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    up = overlay.upsample_bilinear(frame, 4, 4)
    # Output pixel centres map to x = (j + 0.5) * 2 / 4 - 0.5 = -0.25, 0.25, 0.75, 1.25 (clamped)
    assert np.allclose(up[0], [0.0, 0.25, 0.75, 1.0])
    assert np.allclose(up[:, 0], [0.0, 0.5, 1.5, 2.0])
    assert np.allclose(overlay.upsample_bilinear(np.full((3, 5), 0.4), 17, 9), 0.4)
    assert overlay.upsample_bilinear(np.ones((1, 1)), 6, 4).shape == (4, 6)


def test_blend_respects_threshold_and_opacity():
    rgb = np.full((1, 3, 3), 100, np.uint8)
    heat = np.array([[0.1, 0.5, 1.0]])
    lut = overlay.colormap_lut("gray")
    out = overlay.blend(rgb, heat, lut, opacity=0.5, threshold=0.3)
    assert tuple(out[0, 0]) == (100, 100, 100)  # below the threshold: untouched
    assert tuple(out[0, 1]) == (114, 114, 114)  # (100 + 128) / 2
    assert tuple(out[0, 2]) == (178, 178, 178)  # (100 + 255) / 2 rounded
    assert np.array_equal(overlay.blend(rgb, heat, lut, 0.0, 0.0), rgb)


def test_map_frame_at():
    ts = [0.0, 0.5, 1.0]
    assert [overlay.map_frame_at(ts, t) for t in (-1, 0, 0.49, 0.5, 0.99, 1.0, 9)] == [
        0, 0, 0, 1, 1, 2, 2,
    ]  # fmt: skip


def test_temporal_strip():
    strip = overlay.temporal_strip(
        np.array([0.0, 1.0]), np.array([0.0, 1.0]), 2.0, width=20, height=10, playhead=0.5
    )
    assert strip.shape == (10, 20, 3)
    assert np.all(strip[:, 5] == 255)  # the playhead column
    assert np.all(strip[1:, 15] == (255, 170, 40))  # second half: full importance
    assert np.all(strip[:-1, 2] == 24)  # first half: zero importance, only the baseline


def test_png_round_trip(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    overlay.write_png(tmp_path / "x.png", img)
    assert np.array_equal(read_png(tmp_path / "x.png"), img)


def test_overlay_mp4_has_every_frame_and_the_strip(video, tmp_path):
    heat = np.zeros((4, 4, 4), np.float32)
    heat[:, 0, 0] = 1.0
    out = tmp_path / "overlay.mp4"
    info = overlay.render_overlay_mp4(
        video,
        out,
        heat,
        [0.0, 0.25, 0.5, 0.75],
        [0.0, 1.0, 0.5, 0.2],
        video_size=(64, 48),
        fps=8,
        duration=1.0,
        frame_times=[i / 8 for i in range(8)],
        colormap="jet",
        opacity=0.6,
        threshold=0.5,
    )
    assert info == {"frames": 8, "width": 64, "height": 48 + 48}
    assert out.stat().st_size > 0 and ffprobe_frames(out) == 8


def test_keyframe_strip_png(video, tmp_path):
    heat = np.random.default_rng(1).random((4, 4, 4)).astype(np.float32)
    out = tmp_path / "strip.png"
    info = overlay.render_keyframe_strip(
        video, out, heat, [0.0, 0.25, 0.5, 0.75], video_size=(64, 48), fps=8, tile_height=48, gap=2
    )
    img = read_png(out)
    assert info == {"tiles": 4, "width": 4 * 64 + 3 * 2, "height": 48}
    assert img.shape == (48, 262, 3)
    assert np.all(img[:, 64:66] == 255)  # the gap between tiles


def test_unreadable_video_is_an_overlay_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"nope")
    with pytest.raises(overlay.OverlayError):
        overlay.render_keyframe_strip(
            bad, tmp_path / "o.png", np.ones((1, 2, 2)), [0.0], video_size=(64, 48), fps=8
        )


def test_keyframe_strip_shades_what_a_cropping_model_did_not_see(video, tmp_path):
    """With a view (x 16..48 of the 64 px frame) every tile is the plain strip's inside it and
    dim hatching outside it: no colour of the map where the model had no input."""
    heat = np.random.default_rng(1).random((4, 4, 4)).astype(np.float32)
    common = dict(video_size=(64, 48), fps=8, tile_height=48, gap=2, opacity=1.0)
    plain, cropped = tmp_path / "plain.png", tmp_path / "cropped.png"
    overlay.render_keyframe_strip(video, plain, heat, [0.0, 0.25, 0.5, 0.75], **common)
    overlay.render_keyframe_strip(
        video, cropped, heat, [0.0, 0.25, 0.5, 0.75], view=(16.0, 0.0, 48.0, 48.0), **common
    )
    a, b = read_png(plain), read_png(cropped)
    lut = overlay.colormap_lut("jet")
    for k in range(4):
        x = k * 66
        band = b[:, x : x + 16].reshape(-1, 3)
        colours = {tuple(c) for c in lut.tolist()}
        assert not any(tuple(p) in colours for p in band.tolist())  # opacity 1: the map's own
        assert band.mean() < a[:, x : x + 16].mean()  # dimmed
        inside = b[:, x + 16 : x + 48].reshape(-1, 3)
        assert all(tuple(p) in colours for p in inside.tolist())  # opacity 1: the map's colours
