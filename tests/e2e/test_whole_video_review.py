"""A whole-video explanation in the review player, in real Chromium: request it through the UI
(span "Whole video"), follow its progress to done, and see the curve over the whole video and
the map of the window that owns the current time."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.support import CANVAS_PIXELS, gpu_worker_fixture, sign_in  # noqa: F401
from tests.explanations_support import (  # noqa: F401 - fixtures
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from wherewhen.explanations.models import Explanation
from workers.windows import frame_at

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_whole_video_curve_and_maps_across_windows(
    page, gpu_worker, researcher, tiny_checkpoint, settings
):
    register_tiny_model(researcher, tiny_checkpoint, name="tiny", public=True)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="long take", seconds=40.0)
    gpu_worker.wait_ready()
    sign_in(page, "rita", "rita-pw-42")

    page.goto(f"/explanations/review/{video.pk}")
    expect(page.get_by_role("heading", name="Review: long take")).to_be_visible()
    page.get_by_test_id("request-method").select_option("staa")
    page.get_by_test_id("request-span").select_option("windows")
    page.get_by_test_id("request-submit").click()
    status = page.get_by_test_id("request-status")
    expect(status).to_have_attribute("data-status", "done", timeout=120_000)

    row = Explanation.objects.get(video=video, windowed=True)
    windows = row.windows
    count = len(windows["spans"])
    assert count > 40
    pane = page.get_by_test_id("review-pane")
    expect(pane.get_by_test_id("windows-summary")).to_have_text(
        f"whole span · {count} windows of 1 s"
    )

    # The curve covers the whole video: one step per curve point, from 0 to the right edge.
    path = page.get_by_test_id("temporal-curve-path").get_attribute("d")
    xs = [float(x) for x in re.findall(r"[ML]([\d.]+),", path)]
    assert len(xs) == 2 * len(windows["curve"]["times"])
    assert xs[0] == 0 and max(xs) == pytest.approx(1000, abs=0.5)

    # Seeking late in the video shows the map row of the window that owns that time.
    canvas = pane.get_by_test_id("overlay-canvas")
    curve_box = page.get_by_test_id("temporal-curve")
    size = curve_box.bounding_box()
    for fraction in (0.1, 0.83):
        curve_box.click(position={"x": size["width"] * fraction, "y": size["height"] / 2})
        shown = page.get_by_test_id("player-time").inner_text().split(" / ")[0]
        minutes, seconds = shown.split(":")
        t = int(minutes) * 60 + float(seconds)
        expected = frame_at(windows["schedule"]["times"], windows["schedule"]["rows"], t)
        expect(canvas).to_have_attribute("data-frame", str(expected))
        assert expected >= 4 * int(fraction * count * 0.8)  # a late window, not the first one
        expect(canvas).not_to_have_attribute("data-drawn", "0", timeout=15_000)
        assert canvas.evaluate(CANVAS_PIXELS) > 0
    if folder := os.environ.get("WHEREWHEN_SCREENSHOTS"):  # for looking at the page
        for width, height in ((1440, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=f"{folder}/whole-video-{width}.png", full_page=True)
