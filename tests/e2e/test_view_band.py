"""A cropped explanation in real Chromium: a model that centre-crops saw only the middle of a
wide video; the review player draws its map over that rectangle only and marks the rest of the
frame "not seen" (a hatched band with a label), never as low importance."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from tests.e2e.support import CANVAS_PIXELS, sign_in
from tests.explanations_support import researcher_fixture, sized_video  # noqa: F401 - fixtures
from wherewhen.explanations import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

#: Set to a folder to keep screenshots of the player (for looking at it by eye).
SCREENSHOTS = os.environ.get("WHEREWHEN_E2E_SCREENSHOTS")
WIDTH, HEIGHT = 96, 48
VIEW = [24.0, 0.0, 72.0, 48.0]  # what a short-side 32 resize + 32 x 32 centre crop sees

#: JavaScript: painted pixels of a canvas in the columns [x0, x1).
PAINTED_COLUMNS = """(el, [x0, x1]) => {
  const data = el.getContext("2d").getImageData(x0, 0, x1 - x0, el.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
  return painted;
}"""


def cropped_explanation(owner, media_root: Path, view=VIEW):
    video = sized_video(owner, media_root, WIDTH, HEIGHT, title="wide street")
    rng = np.random.default_rng(5)
    buf = io.BytesIO()
    np.savez(
        buf,
        map=rng.random((4, 4, 4)).astype(np.float32) + 0.1,  # no cell below the threshold
        timestamps=np.array([0.0, 0.25, 0.5, 0.75]),
        view=np.array(view, dtype=np.float64),
    )
    upload = SimpleUploadedFile("crop.npz", buf.getvalue())
    explanation, _ = services.import_explanation(
        owner, video=video, upload=upload, method="cropped-staa"
    )
    return video, explanation


@pytest.mark.parametrize("width", [1440, 390])
def test_a_cropped_explanation_shows_the_not_seen_band(page, researcher, settings, width):
    video, explanation = cropped_explanation(researcher, Path(settings.MEDIA_ROOT))
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rita", "rita-pw-42")
    page.goto(f"/explanations/review/{video.pk}?ids={explanation.pk}")

    pane = page.get_by_test_id("review-pane")
    expect(pane).to_have_count(1)
    band = pane.get_by_test_id("unseen-band")
    expect(band).to_be_visible()
    expect(band.get_by_test_id("unseen-label")).to_have_text("not seen")
    assert band.get_attribute("data-view") == "24,0,72,48"

    # The map covers the view only: painted pixels in the middle third of the canvas, none in
    # the bands on either side (the canvas is the video's 2:1 aspect, 1/4 | 1/2 | 1/4).
    canvas = pane.get_by_test_id("overlay-canvas")
    expect(canvas).not_to_have_attribute("data-drawn", "0", timeout=15_000)
    cw = int(canvas.get_attribute("width"))
    ch = int(canvas.get_attribute("height"))
    quarter = cw // 4
    assert canvas.evaluate(PAINTED_COLUMNS, [0, quarter]) == 0
    assert canvas.evaluate(PAINTED_COLUMNS, [cw - quarter, cw]) == 0
    middle = canvas.evaluate(PAINTED_COLUMNS, [quarter, cw - quarter])
    assert middle > 0.5 * (cw - 2 * quarter) * ch  # (the default threshold hides the lowest)
    assert canvas.evaluate(CANVAS_PIXELS) == middle

    # The band lies over the left and right quarters of the stage, where the video shows.
    stage = pane.locator(".review-pane__stage").bounding_box()
    parts = band.locator(".unseen-band__part")
    expect(parts).to_have_count(2)
    left, right = parts.nth(0).bounding_box(), parts.nth(1).bounding_box()
    assert left["x"] == pytest.approx(stage["x"], abs=1)
    assert left["width"] == pytest.approx(stage["width"] / 4, abs=1.5)
    assert right["x"] + right["width"] == pytest.approx(stage["x"] + stage["width"], abs=1)
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"view-band-{width}.png"), full_page=True)


def test_a_whole_frame_explanation_has_no_band(page, researcher, settings):
    video, explanation = cropped_explanation(
        researcher, Path(settings.MEDIA_ROOT), view=[0.0, 0.0, WIDTH, HEIGHT]
    )
    sign_in(page, "rita", "rita-pw-42")
    page.goto(f"/explanations/review/{video.pk}?ids={explanation.pk}")
    canvas = page.get_by_test_id("overlay-canvas")
    expect(canvas).not_to_have_attribute("data-drawn", "0", timeout=15_000)
    expect(page.get_by_test_id("unseen-band")).to_have_count(0)
    cw = int(canvas.get_attribute("width"))
    quarter = cw // 4
    assert canvas.evaluate(PAINTED_COLUMNS, [0, quarter]) > 0  # the map covers the whole frame
    assert canvas.evaluate(PAINTED_COLUMNS, [cw - quarter, cw]) > 0
