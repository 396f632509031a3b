"""Crowd annotation in real headless Chromium: an annotator draws a box on two keyframes with the
mouse, marks when the event happens with the In/Out keys and submits; the stored track then
interpolates between the two keyframes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.annotation_support import N_FRAMES, WIDTH, make_project, make_video, user
from wherewhen.accounts.models import Role, User
from wherewhen.annotations import services
from wherewhen.annotations.models import Assignment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "annotate-me-42"


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def drag(page, canvas_box: dict, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag on the canvas between two points given in source-video pixels."""
    scale = canvas_box["width"] / WIDTH

    def screen(x: float, y: float) -> tuple[float, float]:
        return canvas_box["x"] + x * scale, canvas_box["y"] + y * scale

    page.mouse.move(*screen(*start))
    page.mouse.down()
    mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    page.mouse.move(*screen(*mid), steps=3)
    page.mouse.move(*screen(*end), steps=3)
    page.mouse.up()


def test_annotator_draws_two_keyframes_marks_a_segment_and_submits(page):
    researcher = user("rita", Role.RESEARCHER)
    alex = User.objects.create_user("alex", password=PASSWORD, role=Role.ANNOTATOR)
    video = make_video(researcher, "jumping", with_file=True)
    make_project(
        researcher,
        [video],
        overlap=1,
        max_overlap=1,
        instructions="# Find the jump\nDraw a box around the **jumper**.",
    )

    sign_in(page, "alex")
    page.goto("/annotate")
    expect(page.get_by_test_id("queue-project")).to_have_count(1)
    page.get_by_test_id("next-task").click()
    expect(page.get_by_test_id("workspace")).to_be_visible()
    expect(page.get_by_role("heading", name="Localize jump")).to_be_visible()
    frame = page.get_by_test_id("frame-indicator")
    expect(frame).to_have_attribute("data-frame", "0")

    # Frame 2: draw a box with the mouse and mark the start of the event.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(frame).to_have_attribute("data-frame", "2")
    canvas = page.get_by_test_id("stage-canvas")
    geometry = canvas.bounding_box()
    # Usable at 1280x720: the whole stage is on screen.
    assert geometry["y"] + geometry["height"] <= 720
    drag(page, geometry, (20, 30), (60, 70))
    expect(page.get_by_test_id("track-item")).to_have_count(1)
    expect(canvas).to_have_attribute("data-boxes", "1")
    page.keyboard.press("i")

    # Ten frames on (Shift+→): move the box there, which makes frame 12 a keyframe.
    page.keyboard.press("Shift+ArrowRight")
    expect(frame).to_have_attribute("data-frame", "12")
    expect(page.get_by_test_id("selected-state")).to_have_text("selected box: interpolated")
    drag(page, geometry, (40, 50), (100, 70))
    expect(page.get_by_test_id("selected-state")).to_have_text("selected box: keyframe")
    page.keyboard.press("o")
    expect(page.get_by_test_id("segments-visual").get_by_test_id("segment-item")).to_have_count(1)

    # Undo takes the segment away, redo brings it back; the help overlay opens and closes.
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("segments-visual").get_by_test_id("segment-item")).to_have_count(0)
    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_test_id("segments-visual").get_by_test_id("segment-item")).to_have_count(1)
    page.keyboard.press("?")
    expect(page.get_by_test_id("help-overlay")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("help-overlay")).to_have_count(0)

    # The draft is autosaved on the server before anything is submitted.
    expect(page.get_by_test_id("autosave-status")).to_have_attribute("data-status", "saved")
    draft = Assignment.objects.get(annotator=alex).draft
    assert [k["frame"] for k in draft["tracks"][0]["keyframes"]] == [2, 12]

    page.get_by_test_id("submit-next").click()
    expect(page).to_have_url(re.compile(r"/annotate$"))
    expect(page.get_by_test_id("annotate-message")).to_contain_text("Submitted")

    assignment = Assignment.objects.get(annotator=alex)
    assert assignment.status == Assignment.Status.SUBMITTED
    stored = services.annotation_of(assignment)
    (track,) = stored["tracks"]
    assert track["label"] == "jump"
    first, second = track["keyframes"]
    assert (first["frame"], second["frame"]) == (2, 12)
    corners = ("x0", "y0", "x1", "y1")
    # The keyframes are where the mouse drew and dropped them (within a screen pixel).
    assert [first[c] for c in corners] == pytest.approx([20, 30, 60, 70], abs=0.6)
    assert [second[c] for c in corners] == pytest.approx([80, 50, 120, 90], abs=0.6)
    # The stored track interpolates linearly between them, then stays until the end.
    boxes = services.track_boxes(track["keyframes"], N_FRAMES)
    assert boxes[0] is None and boxes[1] is None
    for f in range(2, 13):
        t = (f - 2) / 10
        expected = [first[c] + (second[c] - first[c]) * t for c in corners]
        assert [boxes[f][c] for c in corners] == pytest.approx(expected, abs=1e-9)
        assert boxes[f]["keyframe"] == (f in (2, 12))
    assert all([b[c] for c in corners] == [second[c] for c in corners] for b in boxes[13:])
    assert stored["segments"] == [{"kind": "visual", "label": "jump", "start": 0.2, "end": 1.2}]
