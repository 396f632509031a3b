"""Audio-visual explanations in real Chromium: a clip with a burst of sound goes through the real
ingest (playback file, waveform), an audio-visual model explains it on a real gpu worker, and the
review player draws the waveform and the audio importance curve under the playing video, with a
playhead that follows it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.support import CANVAS_PIXELS, gpu_worker_fixture, sign_in  # noqa: F401
from tests.explanations_support import researcher_fixture  # noqa: F401 - fixtures
from wherewhen.explanations import services

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

#: Set to a folder to keep a screenshot of the player (for looking at it by eye).
SCREENSHOTS = os.environ.get("WHEREWHEN_E2E_SCREENSHOTS")


def clip_with_sound(path: Path, seconds: float = 2.0) -> Path:
    """A 160 x 120, 10 fps test pattern whose sound is quiet except for a tone at 0.8-1.4 s."""
    from workers.video.tools import ffmpeg_exe

    tone = f"sine=frequency=660:sample_rate=16000:duration={seconds}"
    loud = "volume='if(between(t,0.8,1.4),0.9,0.05)':eval=frame"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=160x120:rate=10:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            tone,
            "-af",
            loud,
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture(scope="session")
def av_checkpoint(tmp_path_factory) -> Path:
    from workers.models.testing import write_random_av_checkpoint

    return write_random_av_checkpoint(tmp_path_factory.mktemp("models") / "tiny-av", seed=0)


def playhead_time(page) -> float:
    return float(page.get_by_test_id("waveform-playhead").get_attribute("data-time"))


def test_audio_curve_and_waveform_follow_the_playing_video(
    page, gpu_worker, researcher, av_checkpoint, tmp_path
):
    from wherewhen.videos.services import ingest_file

    services.register_model(
        owner=researcher, name="tiny-av", checkpoint_dir=str(av_checkpoint), public=True
    )
    source = clip_with_sound(tmp_path / "bell.mp4")
    video = ingest_file(
        owner=researcher, path=source, original_name="bell.mp4", title="bell", process="now"
    ).video
    assert video.status == "ready", video.error
    assert video.has_audio
    gpu_worker.wait_ready()
    sign_in(page, "rita", "rita-pw-42")

    page.goto(f"/explanations/review/{video.pk}")
    expect(page.get_by_role("heading", name="Review: bell")).to_be_visible()
    # Before any explanation, the waveform is under the plain player, and clicking it seeks.
    wave = page.get_by_test_id("waveform-canvas")
    expect(wave).to_have_attribute("data-drawn", re.compile(r"^[1-9]\d*$"), timeout=15_000)
    strip = page.get_by_test_id("waveform")
    box = strip.bounding_box()
    strip.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    page.wait_for_function(
        f"el => Math.abs(el.currentTime - {video.duration / 2}) < 0.05",
        arg=page.get_by_test_id("review-video-plain").element_handle(),
    )

    page.get_by_test_id("request-model").select_option(label="tiny-av (audio-visual)")
    page.get_by_test_id("request-method").select_option("staa")
    page.get_by_test_id("request-submit").click()
    expect(page.get_by_test_id("request-status")).to_have_attribute(
        "data-status", "done", timeout=120_000
    )
    expect(page.get_by_test_id("review-pane")).to_have_count(1)

    # The video's sound, drawn from the server's waveform, now under the panes.
    wave = page.get_by_test_id("waveform-canvas")
    expect(wave).to_have_attribute("data-drawn", re.compile(r"^[1-9]\d*$"), timeout=15_000)
    assert wave.evaluate(CANVAS_PIXELS) > 0

    # The explanation's audio importance on the same time axis, with its peak named.
    curve = page.get_by_test_id("audio-curve")
    expect(curve).to_have_count(1)
    canvas = curve.get_by_test_id("audio-curve-canvas")
    expect(canvas).to_have_attribute("data-drawn", re.compile(r"^[1-9]\d*$"))
    assert canvas.evaluate(CANVAS_PIXELS) > 0
    expect(
        page.get_by_role("img", name=re.compile(r"^Audio importance of STAA: peak at \d:"))
    ).to_have_count(1)

    # The panes took over where the plain player was.
    master = page.get_by_test_id("review-video-master")
    page.wait_for_function(
        f"el => Math.abs(el.currentTime - {video.duration / 2}) < 0.05", arg=master.element_handle()
    )
    assert playhead_time(page) == pytest.approx(video.duration / 2, abs=0.05)

    # Playing moves the waveform's playhead with the video, and the highlighted audio token.
    page.get_by_test_id("waveform").click(position={"x": 1, "y": 10})  # back to the start
    expect(page.get_by_test_id("waveform-playhead")).to_have_attribute("data-time", "0.00")
    page.get_by_test_id("player-play").click()
    page.wait_for_function("el => el.currentTime > 0.5", arg=master.element_handle())
    first = playhead_time(page)
    assert first > 0
    page.wait_for_function(
        f"el => el.currentTime > {first + 0.4} || el.ended", arg=master.element_handle()
    )
    page.wait_for_timeout(100)  # one more animation frame for the clock to follow
    assert playhead_time(page) > first
    assert int(curve.get_attribute("data-active-token")) >= 0
    play = page.get_by_test_id("player-play")
    if play.inner_text() == "Pause":
        play.click()
    expect(play).to_have_text("Play")
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "audio-review.png"), full_page=True)

    # Clicking the waveform seeks (a quarter of the way in).
    strip = page.get_by_test_id("waveform")
    box = strip.bounding_box()
    strip.click(position={"x": box["width"] * 0.25, "y": box["height"] / 2})
    quarter = video.duration / 4
    page.wait_for_function(
        f"el => Math.abs(el.currentTime - {quarter}) < 0.05", arg=master.element_handle()
    )
    assert playhead_time(page) == pytest.approx(quarter, abs=0.05)


def test_bundled_model_points_at_the_tone_of_a_demo_clip(page, gpu_worker, researcher):
    """The demo path: a benchmark clip with its tone and accepted ground truth (as ``make run``
    loads them), the bundled audio-visual model, STAA+ requested in the browser; the audio
    curve's peak falls inside the clip's sound segment and the player says so."""
    from wherewhen.annotations.benchmark import load_benchmark
    from wherewhen.explanations.demo import BUNDLED_AV_NAME, ensure_bundled_model

    assert ensure_bundled_model(name=BUNDLED_AV_NAME) is not None
    (video,) = load_benchmark(researcher, n=1, seed=7, audio=True)
    assert video.has_audio
    gpu_worker.wait_ready()
    sign_in(page, "rita", "rita-pw-42")

    page.goto(f"/explanations/review/{video.pk}")
    page.get_by_test_id("request-model").select_option(label=f"{BUNDLED_AV_NAME} (audio-visual)")
    page.get_by_test_id("request-method").select_option("staa_plus")
    page.get_by_test_id("request-submit").click()
    expect(page.get_by_test_id("request-status")).to_have_attribute(
        "data-status", "done", timeout=120_000
    )
    curve = page.get_by_test_id("audio-curve")
    expect(curve).to_have_count(1)
    # the clip's tone (ground truth: 0.0625-0.6875 s) is where the model listened
    expect(curve).to_have_attribute("data-segments", "1", timeout=15_000)
    expect(curve).to_have_attribute("data-hit", "true")
    expect(
        page.get_by_role(
            "img", name=re.compile(r"^Audio importance of STAA\+: peak at 0:00\.\d+.*\(hit\)$")
        )
    ).to_have_count(1)
    master = page.get_by_test_id("review-video-master")
    page.get_by_test_id("player-play").click()
    page.wait_for_function("el => el.currentTime > 0.3", arg=master.element_handle())
    assert playhead_time(page) > 0
    assert int(curve.get_attribute("data-active-token")) >= 0
