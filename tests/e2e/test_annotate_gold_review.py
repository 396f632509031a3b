"""Gold feedback and review routing in real headless Chromium: an annotator who submits a gold
item sees how it compared with the known answer; a reviewer takes the next item from the review
queue, pins a comment to a frame and a track and sends the work back, and the annotator finds it
on that frame with that track."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.annotation_support import WIDTH, annotation, box_track, make_project, make_video, user
from wherewhen.accounts.models import Role, User
from wherewhen.annotations import services
from wherewhen.annotations.models import Assignment, Task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "annotate-me-42"


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def drag(page, canvas, start, end) -> None:
    box = canvas.bounding_box()
    scale = box["width"] / WIDTH
    page.mouse.move(box["x"] + start[0] * scale, box["y"] + start[1] * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * scale, box["y"] + end[1] * scale, steps=4)
    page.mouse.up()


def test_a_gold_item_shows_its_feedback(page):
    rita = user("rita", Role.RESEARCHER)
    User.objects.create_user("alex", password=PASSWORD, role=Role.ANNOTATOR)
    video = make_video(rita, "check", with_file=True)
    project = make_project(rita, [video], overlap=1, max_overlap=1, gold_every=1)
    answer = annotation(box_track((0, (20, 30, 60, 70))), visual=None)
    services.set_gold_answer(Task.objects.get(project=project, video=video), answer)

    sign_in(page, "alex")
    page.goto("/annotate")
    page.get_by_test_id("next-task").click()
    expect(page.get_by_test_id("workspace")).to_be_visible()
    drag(page, page.get_by_test_id("stage-canvas"), (20, 30), (60, 70))
    expect(page.get_by_test_id("track-item")).to_have_count(1)
    page.get_by_test_id("submit-next").click()

    dialog = page.get_by_test_id("gold-feedback")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Check item passed")
    stored = Assignment.objects.get(annotator__username="alex").gold_feedback
    shown = f"{round(stored['box_iou'] * 100)}%"
    assert stored["box_iou"] > 0.9
    expect(page.get_by_test_id("gold-box-iou")).to_have_text(shown)
    expect(page.get_by_test_id("gold-running")).to_have_text("100% (1 of 1)")
    page.get_by_test_id("gold-next").click()
    expect(page).to_have_url(re.compile(r"/annotate$"))


def test_the_review_queue_and_a_rejection_pinned_to_a_frame_and_a_track(page):
    rita = user("rita", Role.RESEARCHER)
    alex = User.objects.create_user("alex", password=PASSWORD, role=Role.ANNOTATOR)
    User.objects.create_user("robin", password=PASSWORD, role=Role.REVIEWER)
    make_project(rita, [make_video(rita, "jumping", with_file=True)], overlap=1, max_overlap=1)
    taken = services.next_task(alex)
    two_tracks = annotation(
        box_track((2, (20, 30, 60, 70))), box_track((0, (80, 40, 120, 80)), (10, (80, 40, 120, 80)))
    )
    services.submit(taken.pk, alex, two_tracks)

    sign_in(page, "robin")
    # The reviewer takes the next item from the review queue (it is reserved for them).
    page.goto("/annotate/review")
    expect(page.get_by_test_id("review-holder")).to_have_text("—")
    page.get_by_test_id("review-next").click()
    expect(page).to_have_url(re.compile(rf"/annotate/review/{taken.pk}$"))
    expect(page.get_by_test_id("review-page")).to_be_visible()
    expect(page.get_by_test_id("review-lease")).to_contain_text("Reserved for you")
    assert Assignment.objects.get(pk=taken.pk).review_holder.username == "robin"
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("frame-indicator")).to_have_attribute("data-frame", "5")
    # A click on the box picks its track for the note.
    canvas = page.get_by_test_id("stage-canvas")
    expect(canvas).to_have_attribute("data-boxes", "2")
    box = canvas.bounding_box()
    scale = box["width"] / WIDTH
    page.mouse.click(box["x"] + 100 * scale, box["y"] + 60 * scale)  # inside the second track
    expect(page.get_by_test_id("note-track")).to_have_value("1")
    page.get_by_test_id("review-comment-input").fill("The box should follow the jumper here.")
    page.get_by_test_id("pin-note").click()
    expect(page.get_by_test_id("pinned-notes")).to_contain_text("Frame 6 · jump box 2")
    page.get_by_test_id("reject").click()
    expect(page).to_have_url(re.compile(r"/annotate/review$"))
    row = Assignment.objects.get(pk=taken.pk)
    assert row.status == Assignment.Status.REJECTED and row.review_holder is None
    assert row.review_notes == [
        {"frame": 5, "track": 1, "text": "The box should follow the jumper here."}
    ]

    page.context.clear_cookies()
    sign_in(page, "alex")
    page.goto("/annotate")
    page.get_by_test_id("next-task").click()
    expect(page.get_by_test_id("workspace")).to_have_attribute("data-assignment", str(taken.pk))
    note = page.get_by_test_id("review-note")
    expect(note).to_have_attribute("data-frame", "5")
    expect(note).to_have_attribute("data-track", "1")
    expect(note).to_contain_text("The box should follow the jumper here.")
    expect(page.get_by_test_id("review-note-here")).to_have_count(0)
    note.get_by_role("button").click()
    expect(page.get_by_test_id("frame-indicator")).to_have_attribute("data-frame", "5")
    expect(page.get_by_test_id("review-note-here")).to_contain_text("follow the jumper")
    expect(page.get_by_test_id("review-note-here")).to_contain_text("jump box 2")
    tracks = page.get_by_test_id("track-item")
    expect(tracks.nth(1)).to_have_class(re.compile("track-item--active"))
    expect(tracks.nth(0)).not_to_have_class(re.compile("track-item--active"))
