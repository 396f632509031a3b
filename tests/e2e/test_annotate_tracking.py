"""Assisted tracking in real headless Chromium, on a synthetic clip whose target's box is known
on every frame: the annotator draws one box, tracks it forward, corrects one tracked frame (it
becomes a keyframe and the frames after it are tracked again) and submits; the stored track
holds the two keyframes and the tracked boxes between and after them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.annotation_support import make_project, synthetic_video, user
from wherewhen.accounts.models import Role, User
from wherewhen.annotations import services
from wherewhen.annotations.models import Assignment
from workers.synthetic import scene_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "annotate-me-42"
SPAN = 10


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def drag(page, canvas, width: int, start, end) -> None:
    box = canvas.bounding_box()
    scale = box["width"] / width

    def screen(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * scale, box["y"] + y * scale

    page.mouse.move(*screen(*start))
    page.mouse.down()
    page.mouse.move(*screen((start[0] + end[0]) / 2, (start[1] + end[1]) / 2), steps=3)
    page.mouse.move(*screen(*end), steps=3)
    page.mouse.up()


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_draw_track_correct_and_submit(page):
    scene = scene_for(3, 1)
    width = scene.config.width
    start, _ = scene.event_frames
    researcher = user("rita", Role.RESEARCHER)
    alex = User.objects.create_user("alex", password=PASSWORD, role=Role.ANNOTATOR)
    make_project(researcher, [synthetic_video(researcher, scene)], overlap=1, max_overlap=1)

    sign_in(page, "alex")
    page.goto("/annotate")
    page.get_by_test_id("next-task").click()
    expect(page.get_by_test_id("workspace")).to_be_visible()
    frame = page.get_by_test_id("frame-indicator")
    for _ in range(start):
        page.keyboard.press("ArrowRight")
    expect(frame).to_have_attribute("data-frame", str(start))

    # One box around the target, drawn with the mouse.
    canvas = page.get_by_test_id("stage-canvas")
    x0, y0, x1, y1 = scene.target_box(start)
    drag(page, canvas, width, (x0, y0), (x1, y1))
    expect(page.get_by_test_id("track-item")).to_have_count(1)

    # Track it forward over ten frames: the proposals arrive as tracked boxes.
    page.get_by_test_id("track-span").select_option("10")
    page.get_by_test_id("track-forward").click()
    proposal = page.get_by_test_id("tracking-proposal")
    tracked = ",".join(str(f) for f in range(start + 1, start + SPAN + 1))
    expect(proposal).to_have_attribute("data-frames", tracked)
    page.get_by_test_id("tracking-accept").click()
    expect(proposal).to_have_count(0)

    # Frame start+4 is tracked; moving its box there makes it a keyframe and tracks again.
    corrected = start + 4
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(frame).to_have_attribute("data-frame", str(corrected))
    expect(page.get_by_test_id("selected-state")).to_have_text("selected box: tracked")
    bx = scene.target_box(corrected)
    centre = ((bx[0] + bx[2]) / 2, (bx[1] + bx[3]) / 2)
    drag(page, canvas, width, centre, (centre[0] + 3, centre[1] + 2))
    expect(page.get_by_test_id("selected-state")).to_have_text("selected box: keyframe")
    again = ",".join(str(f) for f in range(corrected + 1, start + SPAN + 1))
    expect(proposal).to_have_attribute("data-frames", again)
    page.get_by_test_id("tracking-accept").click()

    page.get_by_test_id("submit-next").click()
    expect(page).to_have_url(re.compile(r"/annotate$"))
    assignment = Assignment.objects.get(annotator=alex)
    assert assignment.status == Assignment.Status.SUBMITTED
    (track,) = services.annotation_of(assignment)["tracks"]
    own = [k["frame"] for k in track["keyframes"] if not k.get("tracked")]
    follow = [k["frame"] for k in track["keyframes"] if k.get("tracked")]
    assert own == [start, corrected]
    assert follow == [f for f in range(start + 1, start + SPAN + 1) if f != corrected]
    # The tracked boxes follow the target (its true box is known on every frame).
    for k in track["keyframes"]:
        if k.get("tracked"):
            got = (k["x0"], k["y0"], k["x1"], k["y1"])
            assert iou(got, scene.target_box(k["frame"])) > 0.5, k
