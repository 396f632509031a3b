"""The annotation workspace without a mouse, in real Chromium: an annotator takes a task with
Tab and Enter, reads the keys in the help popover, draws a box with B, moves and sizes it with
W A S D (Shift to size) on two frames, marks when the event happens with I and O, and submits
with Ctrl+Enter; the stored annotation has exactly the boxes the keys made."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.annotation_support import HEIGHT, WIDTH, make_project, make_video, user
from wherewhen.accounts.models import Role, User
from wherewhen.annotations import services
from wherewhen.annotations.models import Assignment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "keys-only-42"
#: ``make screenshots``: keep a picture of the workspace with a box and a segment.
SCREENSHOTS = os.environ.get("WHEREWHEN_SCREENSHOTS")


def tab_to(page, test_id: str, limit: int = 80) -> None:
    """Press Tab until the element with ``data-testid=test_id`` has the focus."""
    for _ in range(limit):
        if page.evaluate("document.activeElement?.dataset?.testid") == test_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{test_id} is not reachable with Tab")


def test_annotator_draws_adjusts_marks_and_submits_with_the_keyboard_only(page):
    researcher = user("rita", Role.RESEARCHER)
    alex = User.objects.create_user("alex", password=PASSWORD, role=Role.ANNOTATOR)
    video = make_video(researcher, "jumping", with_file=True)
    make_project(researcher, [video], overlap=1, max_overlap=1, instructions="Box the jumper.")

    page.goto("/login")
    page.get_by_label("Username").fill("alex")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto("/annotate")
    expect(page.get_by_test_id("queue-project")).to_have_count(1)
    page.locator("body").focus()
    tab_to(page, "next-task")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("workspace")).to_be_visible()
    frame = page.get_by_test_id("frame-indicator")
    expect(frame).to_have_attribute("data-frame", "0")

    # The keys are documented in a popover that a visible button (and ?) opens.
    expect(page.get_by_test_id("help-button")).to_be_visible()
    page.keyboard.press("?")
    help_panel = page.get_by_test_id("help-overlay")
    expect(help_panel).to_contain_text("New box in the middle of this frame")
    expect(help_panel).to_contain_text("Move the selected box left")
    page.keyboard.press("Escape")
    expect(help_panel).to_have_count(0)
    page.locator("body").focus()

    # Frame 2: a new box (a third of the frame, in the middle), moved and sized by keys.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(frame).to_have_attribute("data-frame", "2")
    page.keyboard.press("b")
    expect(page.get_by_test_id("track-item")).to_have_count(1)
    expect(page.get_by_test_id("stage-canvas")).to_have_attribute("data-boxes", "1")
    for key in ("d", "d", "Shift+D", "s"):
        page.keyboard.press(key)
    page.keyboard.press("i")

    # Frame 12: moving the (held) box there makes it a keyframe.
    page.keyboard.press("Shift+ArrowRight")
    expect(frame).to_have_attribute("data-frame", "12")
    expect(page.get_by_test_id("selected-state")).to_have_text("selected box: interpolated")
    page.keyboard.press("a")
    expect(page.get_by_test_id("selected-state")).to_have_text("selected box: keyframe")
    page.keyboard.press("Shift+W")
    page.keyboard.press("o")
    expect(page.get_by_test_id("segments-visual").get_by_test_id("segment-item")).to_have_count(1)
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=str(folder / "annotator-workspace.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        page.screenshot(path=str(folder / "annotator-workspace-390.png"))
        page.set_viewport_size({"width": 1280, "height": 720})
        page.locator("body").focus()

    page.keyboard.press("Control+Enter")
    expect(page).to_have_url(re.compile(r"/annotate$"))
    expect(page.get_by_test_id("annotate-message")).to_contain_text("Submitted")

    assignment = Assignment.objects.get(annotator=alex)
    assert assignment.status == Assignment.Status.SUBMITTED
    (track,) = services.annotation_of(assignment)["tracks"]
    first, second = track["keyframes"]
    corners = ("x0", "y0", "x1", "y1")
    # B: a third of the frame each way, centred; a step is a 50th of the frame.
    js_round = lambda v: math.floor(v + 0.5)  # noqa: E731 - Math.round
    w, h = js_round(WIDTH / 3), js_round(HEIGHT / 3)
    x0, y0 = js_round((WIDTH - w) / 2), js_round((HEIGHT - h) / 2)
    dx, dy = js_round(WIDTH / 50), js_round(HEIGHT / 50)
    on_2 = [x0 + 2 * dx, y0 + dy, x0 + w + 3 * dx, y0 + h + dy]  # D D, Shift+D, S
    on_12 = [on_2[0] - dx, on_2[1], on_2[2] - dx, on_2[3] - dy]  # A, Shift+W
    assert (first["frame"], second["frame"]) == (2, 12)
    assert [first[c] for c in corners] == pytest.approx(on_2)
    assert [second[c] for c in corners] == pytest.approx(on_12)
    assert services.annotation_of(assignment)["segments"] == [
        {"kind": "visual", "label": "jump", "start": 0.2, "end": 1.2}
    ]
