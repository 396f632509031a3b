"""The review player in real Chromium: request STAA on a demo clip through the UI, watch the
status go to done, and see the heatmap drawn on the overlay canvas and the temporal curve."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.support import CANVAS_PIXELS, gpu_worker_fixture, sign_in  # noqa: F401
from tests.explanations_support import (  # noqa: F401 - fixtures
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_request_staa_and_see_the_overlay_and_the_curve(
    page, gpu_worker, researcher, tiny_checkpoint, settings
):
    register_tiny_model(researcher, tiny_checkpoint, name="tiny", public=True)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="demo clip", seconds=2.0)
    gpu_worker.wait_ready()
    sign_in(page, "rita", "rita-pw-42")

    page.goto(f"/explanations/review/{video.pk}")
    expect(page.get_by_role("heading", name="Review: demo clip")).to_be_visible()
    page.get_by_test_id("request-method").select_option("staa")
    page.get_by_test_id("request-submit").click()
    status = page.get_by_test_id("request-status")
    expect(status).to_have_attribute("data-status", "done", timeout=120_000)

    pane = page.get_by_test_id("review-pane")
    expect(pane).to_have_count(1)
    expect(pane.get_by_role("heading", name="STAA")).to_be_visible()
    canvas = pane.get_by_test_id("overlay-canvas")
    expect(canvas).not_to_have_attribute("data-drawn", "0", timeout=15_000)
    assert canvas.evaluate(CANVAS_PIXELS) > 0

    curve = page.get_by_test_id("temporal-curve-path")
    expect(curve).to_have_count(1)
    assert curve.get_attribute("d").startswith("M")

    # The overlay settings act instantly in the browser: a threshold of 100% hides all but the
    # maximum, an opacity of 0 hides everything.
    page.get_by_test_id("overlay-opacity").fill("0")
    expect(canvas).to_have_attribute("data-drawn", "0")
    assert canvas.evaluate(CANVAS_PIXELS) == 0

    # Clicking the curve seeks (the playhead time changes).
    curve_box = page.get_by_test_id("temporal-curve")
    size = curve_box.bounding_box()
    curve_box.click(position={"x": size["width"] * 0.75, "y": size["height"] / 2})
    expect(page.get_by_test_id("player-time")).to_have_text("0:01.50 / 0:02.00")

    # A link with ?t= (the leaderboard's drill-down) opens the player at that moment.
    url = page.url.split("?")[0]
    explanation_ids = page.url.split("ids=")[1].split("&")[0]
    page.goto(f"{url}?ids={explanation_ids}&t=0.75")
    expect(page.get_by_test_id("player-time")).to_have_text("0:00.75 / 0:02.00")
    master = page.get_by_test_id("review-video-master")
    page.wait_for_function(
        "el => Math.abs(el.currentTime - 0.75) < 0.01", arg=master.element_handle()
    )
