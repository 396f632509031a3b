"""Sound in the video pipeline: the waveform overview at ingest, and clip audio for
audio-visual models (real ffmpeg, real files)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from workers.models.spec import AudioSpec, InputSpec
from workers.serving import ClipError, load_clip
from workers.video import NoAudioError, process_video, sample_clip, sliding_windows
from workers.video.audio import (
    MAX_WAVEFORM_BINS,
    WAVEFORM_NAME,
    atempo_stages,
    decode_mono,
    sample_audio,
    waveform_overview,
    write_waveform,
)
from workers.video.tools import ffmpeg_exe

TONE_HZ = 440.0


def _ffmpeg(*args: str) -> None:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True, capture_output=True)


def tone_video(path: Path, seconds: float = 2.0, on: tuple[float, float] = (1.0, 1.5)) -> Path:
    """10 fps pictures and a 440 Hz tone that sounds only from ``on[0]`` to ``on[1]`` s (AAC)."""
    tone = f"0.8*sin(2*PI*{TONE_HZ}*t)*between(t\\,{on[0]}\\,{on[1]})"
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=64x48:rate=10:duration={seconds}",
        "-f", "lavfi", "-i", f"aevalsrc='{tone}':s=16000:d={seconds}",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
        "-shortest", str(path),
    )  # fmt: skip
    return path


def silent_video(path: Path, seconds: float = 1.5) -> Path:
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=64x48:rate=10:duration={seconds}",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


def broken_audio_video(folder: Path) -> Path:
    """A Matroska file whose audio stream names a codec nobody knows (its data is garbage to
    every decoder), next to a good video stream."""
    good = folder / "good-sound.mkv"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1.5",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050:duration=1.5",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(good),
    )  # fmt: skip
    data = good.read_bytes()
    assert data.count(b"A_AAC") == 1
    broken = folder / "broken sound.mkv"
    broken.write_bytes(data.replace(b"A_AAC", b"A_QQQ"))
    return broken


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("audio-media")
    return {
        "tone": tone_video(folder / "tone.mp4"),
        "silent": silent_video(folder / "silent.mp4"),
        "broken": broken_audio_video(folder),
    }


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1.0 / rate)[int(np.argmax(spectrum))])


# --- time stretching ---------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [1.0, 0.5, 2.0, 0.75, 1.6, 5.0, 8.0, 0.1, 0.26])
def test_atempo_stages_multiply_to_the_ratio_and_stay_in_range(ratio):
    stages = atempo_stages(ratio)
    assert all(0.5 <= s <= 2.0 for s in stages)
    assert float(np.prod(stages)) == pytest.approx(ratio, rel=1e-9)
    assert (stages == []) == (ratio == 1.0)
    assert len(stages) <= 1 or ratio > 2 or ratio < 0.5


def test_atempo_refuses_nonsense():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            atempo_stages(bad)


# --- the waveform overview ---------------------------------------------------------------------


def test_waveform_follows_the_sound(media, tmp_path):
    out = tmp_path / WAVEFORM_NAME
    overview = write_waveform(media["tone"], out, duration=2.0)
    stored = json.loads(out.read_text())
    assert stored == overview
    assert stored["duration"] == 2.0
    assert stored["bins_per_second"] == 100
    assert stored["bins"] == len(stored["min"]) == len(stored["max"]) == 200
    lo, hi = np.array(stored["min"]), np.array(stored["max"])
    assert np.all(lo <= hi) and np.all(lo >= -1) and np.all(hi <= 1)
    amplitude = hi - lo
    # the tone sounds from 1.0 to 1.5 s (bins 100..149); a small margin for the codec's edges
    assert amplitude[105:145].min() > 0.5
    assert amplitude[:95].max() < 0.05
    assert amplitude[155:].max() < 0.05
    assert not list(tmp_path.glob(".tmp-*"))


def test_streamed_overview_equals_the_whole_decode(media, tmp_path, monkeypatch):
    """Chunks of odd sizes (samples split across reads) give the same bins as one array."""
    from workers.video import audio

    whole = waveform_overview(decode_mono(media["tone"], audio.WAVEFORM_RATE), 8000, 2.0)
    for chunk in (4099, 1 << 20):
        monkeypatch.setattr(audio, "CHUNK_BYTES", chunk)
        assert write_waveform(media["tone"], tmp_path / f"{chunk}.json", duration=2.0) == whole
    assert write_waveform(media["tone"], tmp_path / "unknown-duration.json") == whole
    short = write_waveform(media["tone"], tmp_path / "short.json", duration=0.5)
    assert short["bins"] == 50 and short["max"] == whole["max"][:50]


def test_waveform_bins_are_capped_for_long_videos():
    rate = 100
    samples = np.sin(np.arange(3 * 3600 * rate) / 5).astype(np.float32)
    overview = waveform_overview(samples, rate, duration=3 * 3600.0)
    assert overview["bins"] == MAX_WAVEFORM_BINS
    assert overview["bins_per_second"] * 3 * 3600 == pytest.approx(MAX_WAVEFORM_BINS)
    assert len(overview["min"]) == len(overview["max"]) == MAX_WAVEFORM_BINS
    assert max(overview["max"]) == pytest.approx(1.0, abs=1e-3)


def test_waveform_of_sound_shorter_than_the_video_is_silent_after_it():
    rate = 1000
    overview = waveform_overview(np.full(500, 0.5, dtype=np.float32), rate, duration=1.0)
    assert overview["bins"] == 100
    assert overview["max"][:50] == [0.5] * 50
    assert overview["max"][50:] == [0.0] * 50


def test_no_waveform_for_a_silent_or_broken_file(media, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / WAVEFORM_NAME
    with pytest.raises(NoAudioError, match="no audio track"):
        write_waveform(media["silent"], out)
    with pytest.raises(ValueError, match="could not be decoded"):
        write_waveform(media["broken"], out)
    assert not out.exists()
    assert not list(folder.iterdir())


# --- ingest ------------------------------------------------------------------------------------


def test_ingest_writes_the_waveform_and_reruns_converge(media, tmp_path):
    folder = tmp_path / "tone"
    result = process_video(media["tone"], folder)
    assert result.has_audio and result.audio_error == ""
    assert result.waveform == folder / WAVEFORM_NAME
    first = result.waveform.read_bytes()
    assert json.loads(first)["bins"] <= MAX_WAVEFORM_BINS
    (folder / ".tmp-waveform-x.json").write_text("half")  # a crashed run's leftover
    again = process_video(media["tone"], folder)
    assert again.waveform.read_bytes() == first
    assert not list(folder.glob(".tmp-*"))


def test_silent_video_has_no_waveform_even_after_one_was_left_there(media, tmp_path):
    folder = tmp_path / "silent"
    folder.mkdir()
    (folder / WAVEFORM_NAME).write_text("{}")
    result = process_video(media["silent"], folder)
    assert not result.has_audio and result.waveform is None and result.audio_error == ""
    assert not (folder / WAVEFORM_NAME).exists()


def test_broken_audio_stream_does_not_fail_the_video(media, tmp_path):
    folder = tmp_path / "broken"
    result = process_video(media["broken"], folder)
    assert result.source.has_audio  # the file claims sound ...
    assert not result.has_audio  # ... the playback file has none
    assert result.waveform is None and not (folder / WAVEFORM_NAME).exists()
    assert "sound could not be converted" in result.audio_error
    assert result.playback.is_file() and result.frame_count == 15
    with pytest.raises(NoAudioError):
        decode_mono(result.playback, 8000)


def test_a_cut_off_file_with_sound_fails_at_once(tmp_path, caplog):
    """Truncation is not the sound's fault: no second conversion without it."""
    from workers.video import TruncatedVideoError

    full = tmp_path / "full.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=2",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=2",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart",
        "-shortest", str(full),
    )  # fmt: skip
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with (
        caplog.at_level("WARNING", logger="workers.video.ingest"),
        pytest.raises(TruncatedVideoError, match="truncated"),
    ):
        process_video(cut, tmp_path / "out")
    assert "trying without" not in caplog.text


# --- model input -------------------------------------------------------------------------------

AUDIO = AudioSpec(sample_rate=16000, duration=2.0)
SPEC = InputSpec(num_frames=4, image_size=32, patch_size=8, audio=AUDIO)


def test_clip_audio_is_exact_length_mono_and_spans_the_window(media):
    clip = sample_clip(media["tone"], SPEC, 0.0, 2.0)
    assert clip.audio is not None
    assert clip.audio.dtype == np.float32 and clip.audio.shape == (AUDIO.num_samples,)
    assert clip.audio_span == (0.0, 2.0)
    assert np.all(np.abs(clip.audio) <= 1.0)
    sr = AUDIO.sample_rate
    on = clip.audio[int(1.05 * sr) : int(1.45 * sr)]
    assert rms(on) > 0.2
    assert rms(clip.audio[: int(0.95 * sr)]) < 0.02
    assert dominant_hz(on, sr) == pytest.approx(TONE_HZ, abs=5)


def test_open_window_spans_first_frame_to_after_the_last(media):
    clip = sample_clip(media["tone"], SPEC)
    assert clip.audio_span[0] == pytest.approx(0.0)
    assert clip.audio_span[1] == pytest.approx(2.0, abs=1e-6)
    assert clip.audio.shape == (AUDIO.num_samples,)


@pytest.mark.parametrize(
    ("start", "end"),
    [(0.5, 1.5), (0.9, 1.7), (0.0, 2.0), (1.0, 1.25)],
)
def test_window_of_another_length_is_stretched_pitch_preserved(media, start, end):
    """The tone (1.0..1.5 s of the source) lands where it belongs in the stretched output."""
    clip = sample_clip(media["tone"], SPEC, start, end)
    assert clip.audio.shape == (AUDIO.num_samples,)
    assert clip.audio_span == (start, end)
    sr, scale = AUDIO.sample_rate, AUDIO.duration / (end - start)

    def at(t: float) -> int:  # source seconds -> output sample
        return int(round((t - start) * scale * sr))

    tone_lo, tone_hi = max(1.0, start), min(1.5, end)
    margin = 0.06 * scale
    inside = clip.audio[at(tone_lo) + int(margin * sr) : at(tone_hi) - int(margin * sr)]
    assert rms(inside) > 0.2
    assert dominant_hz(inside, sr) == pytest.approx(TONE_HZ, abs=8)  # pitch kept
    if start < 0.9:
        before = clip.audio[: at(1.0) - int(margin * sr)]
        assert rms(before) < 0.03
    if end > 1.6:
        after = clip.audio[at(1.5) + int(margin * sr) :]
        assert rms(after) < 0.03


def test_ratio_outside_half_to_double_chains_stages(media):
    spec = AudioSpec(sample_rate=8000, duration=0.25)  # 2 s window -> 8x faster
    samples, span = sample_audio(media["tone"], spec, 0.0, 2.0)
    assert samples.shape == (spec.num_samples,) and span == (0.0, 2.0)
    sr = spec.sample_rate
    on = samples[int(0.13 * sr) : int(0.17 * sr)]  # the tone: 1.0..1.5 s -> 0.125..0.1875 s
    assert rms(on) > 0.2
    # the filter's overlap-add windows smear the edges by a few tens of milliseconds
    assert rms(samples[: int(0.08 * sr)]) < 0.02
    assert rms(samples[int(0.21 * sr) :]) < 0.02
    energy = samples.astype(np.float64) ** 2
    centre = float((energy * np.arange(len(samples))).sum() / energy.sum()) / sr
    # atempo (WSOLA) places sound to within about one of its fragments: here under one token
    assert centre == pytest.approx(0.15625, abs=spec.duration / spec.tokens)


def test_sliding_windows_carry_their_own_sound(media):
    clips = list(sliding_windows(media["tone"], SPEC, window=1.0))
    assert [c.audio_span for c in clips] == [(0.0, 1.0), (1.0, 2.0)]
    first, second = clips
    assert rms(first.audio) < 0.02
    assert rms(second.audio[: AUDIO.num_samples // 2]) > 0.2  # 1.0..1.5 s -> first half


def test_video_models_get_no_audio(media):
    clip = sample_clip(media["tone"], InputSpec(num_frames=4, image_size=32, patch_size=8))
    assert clip.audio is None and clip.audio_span is None


def test_audio_visual_model_on_a_silent_video_is_a_clear_error(media):
    with pytest.raises(NoAudioError, match="video 7 has no audio track; .*audio-visual"):
        sample_clip(media["silent"], SPEC, video_id="7")
    with pytest.raises(ClipError) as info:
        load_clip(media["silent"], SPEC, video_id="7", model_name="tiny-av")
    assert str(info.value) == (
        "video 7 has no audio track; model 'tiny-av' is audio-visual and needs sound"
    )


def test_open_window_ends_where_the_last_frame_ends():
    """With the video's exact duration (its frame table) the window closes there, not at the
    last frame plus the median interval (which overshoots a variable frame rate's end)."""
    from workers.video.sample import window_span

    stamps = np.array([0.0, 0.1, 0.2, 2.90, 2.95])  # the last frame lasts 0.05 s
    assert window_span(stamps, None, None) == pytest.approx((0.0, 3.05))
    assert window_span(stamps, None, None, duration=3.0) == pytest.approx((0.0, 3.0))
    assert window_span(stamps, 0.5, 1.0, duration=3.0) == (0.5, 1.0)
