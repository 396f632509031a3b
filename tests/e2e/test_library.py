"""The Library in real headless Chromium: upload, live status from a real media worker, playback
with seeking (Chromium fetches the video with Range requests), and deletion."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.support import sign_in
from tests.platform.videohelpers import media_files
from wherewhen.accounts.models import Role, User
from wherewhen.videos.models import Video

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PLAYER = "document.querySelector('[data-testid=player]')"


def test_upload_watch_it_get_ready_play_seek_and_delete(
    page, start_worker, video_files, bad_video_files
):
    start_worker(queues="media")
    User.objects.create_user("rita", password="research-me-42", role=Role.RESEARCHER)
    stream_statuses: list[int] = []
    page.on(
        "response",
        lambda response: "/stream/" in response.url and stream_statuses.append(response.status),
    )
    sign_in(page, "rita", "research-me-42")
    page.get_by_test_id("nav-library").click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("videos will appear here")

    # A file that is not a video is refused with the server's reason.
    page.get_by_test_id("upload-input").set_input_files(str(bad_video_files["not_video"]))
    refused = page.get_by_test_id("upload-item").first
    expect(refused).to_have_attribute("data-phase", "error")
    expect(refused.get_by_role("alert")).to_contain_text("not a video WhereWhen can read")

    fixture = video_files["mp4_h264_aac"]
    page.get_by_test_id("upload-input").set_input_files(str(fixture.path))
    uploaded = page.get_by_test_id("upload-item").nth(1)
    expect(uploaded).to_have_attribute("data-phase", "done")
    card = page.get_by_test_id("video-card")
    expect(card).to_have_count(1)
    # The list polls: the status turns ready once the real media worker is done.
    expect(card.get_by_test_id("video-status")).to_have_attribute(
        "data-status", "ready", timeout=90_000
    )
    card.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/library/\d+$"))
    expect(page.get_by_test_id("meta-frames")).to_contain_text("20 at 10 fps")

    page.wait_for_function(f"() => {PLAYER} && {PLAYER}.readyState >= 1")
    seek = f"""() => new Promise((resolve, reject) => {{
        const v = {PLAYER};
        v.addEventListener('seeked', () => resolve(), {{ once: true }});
        v.addEventListener('error', () => reject(new Error('media error ' + v.error.code)));
        v.currentTime = 1.35;
    }})"""
    page.evaluate(seek)
    page.wait_for_function(f"() => {PLAYER}.readyState >= 2")
    state = page.evaluate(
        f"() => ({{ t: {PLAYER}.currentTime, d: {PLAYER}.duration, e: {PLAYER}.error }})"
    )
    assert state["e"] is None
    assert state["t"] == pytest.approx(1.35, abs=0.05)
    assert state["d"] == pytest.approx(2.0, abs=0.1)
    assert 206 in stream_statuses  # Chromium asked for byte ranges and got them

    page.get_by_role("button", name="Delete video").click()
    expect(page.get_by_test_id("confirm-delete")).to_contain_text("and all of its files?")
    page.get_by_role("button", name="Delete permanently").click()
    expect(page).to_have_url(re.compile(r"/library$"))
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    assert not Video.objects.exists()
    assert media_files() == []
