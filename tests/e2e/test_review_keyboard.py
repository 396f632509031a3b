"""The review player without a mouse, in real Chromium: rename an explanation in its list
(Escape cancels, Enter saves), switch the overlay to cividis (the legend follows), and step
through the clip with the seek slider's arrow keys (the overlay follows the map frames)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.support import sign_in
from tests.explanations_support import ready_video
from tests.studies_support import make_explanation, make_model
from wherewhen.accounts.models import Role, User
from wherewhen.explanations.models import Explanation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "review-by-keys-42"

#: JavaScript: the colour at the right end of the legend's bar (value 100%).
LEGEND_TOP = (
    """(c) => Array.from(c.getContext("2d").getImageData(c.width - 1, 0, 1, 1).data.slice(0, 3))"""
)


def tab_to(page, test_id: str, limit: int = 150) -> None:
    for _ in range(limit):
        if page.evaluate("document.activeElement?.dataset?.testid") == test_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{test_id} is not reachable with Tab")


def test_rename_recolour_and_seek_with_the_keyboard_only(page, settings):
    rita = User.objects.create_user("rita", password=PASSWORD, role=Role.RESEARCHER)
    video = ready_video(rita, settings.MEDIA_ROOT, title="walk", seconds=1.0)
    model = make_model(rita)
    staa = make_explanation(video, model, "staa", seed=1)
    make_explanation(video, model, "staa_plus", seed=2)

    sign_in(page, "rita", PASSWORD)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/explanations/review/{video.pk}?ids={staa.pk}")
    pane = page.get_by_test_id("review-pane")
    expect(pane).to_have_count(1)
    page.locator("body").focus()

    # Rename: Enter opens the field with the name selected; Escape leaves everything as it was.
    tab_to(page, f"rename-{staa.pk}")
    page.keyboard.press("Enter")
    field = page.get_by_test_id("rename-input")
    expect(field).to_be_focused()
    page.keyboard.type("not this")
    page.keyboard.press("Escape")
    expect(field).to_have_count(0)
    expect(page.get_by_test_id(f"rename-{staa.pk}")).to_be_focused()
    assert Explanation.objects.get(pk=staa.pk).name == ""

    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    page.keyboard.type("x" * 121)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("rename-error")).to_contain_text("120 characters")
    page.keyboard.press("Control+a")
    page.keyboard.type("  Sharper run ")
    page.keyboard.press("Enter")
    expect(field).to_have_count(0)
    item = page.get_by_test_id(f"explanation-item-{staa.pk}")
    expect(item.get_by_test_id("explanation-name")).to_contain_text("Sharper run · STAA")
    expect(pane.get_by_role("heading", name="Sharper run")).to_be_visible()
    assert Explanation.objects.get(pk=staa.pk).name == "Sharper run"
    page.reload()
    expect(page.get_by_test_id(f"explanation-item-{staa.pk}")).to_contain_text("Sharper run")

    # Colour map: the select, arrow keys until cividis; the legend's top is cividis's yellow.
    page.locator("body").focus()
    tab_to(page, "overlay-colormap")
    select = page.get_by_test_id("overlay-colormap")
    for _ in range(6):
        if select.input_value() == "cividis":
            break
        page.keyboard.press("ArrowDown")
    expect(select).to_have_value("cividis")
    expect(select.locator("option:checked")).to_have_text("cividis (colour-blind safe)")
    legend = page.get_by_test_id("color-legend").locator("canvas")
    page.wait_for_function(
        f"c => ({LEGEND_TOP})(c).join() === '254,232,56'", arg=legend.element_handle()
    )

    # Seek with the slider's keys: End goes to the clip's end, the overlay to its last frame.
    canvas = pane.get_by_test_id("overlay-canvas")
    expect(canvas).to_have_attribute("data-frame", "0")
    tab_to(page, "player-seek")
    page.keyboard.press("End")
    expect(canvas).to_have_attribute("data-frame", "3")
    expect(page.get_by_test_id("player-time")).not_to_have_text(re.compile(r"^0:00\.00 /"))
    page.keyboard.press("Home")
    expect(canvas).to_have_attribute("data-frame", "0")
