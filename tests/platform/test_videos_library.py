"""Browsing the library: visibility by role, search, filters, pagination, edits, deletion."""

from __future__ import annotations

import pytest

from tests.platform.videohelpers import (
    LIST_URL,
    client_for,
    make_user,
    media_files,
    record_enqueued,
    upload,
)
from wherewhen.accounts.models import Role
from wherewhen.core import media
from wherewhen.videos import services
from wherewhen.videos.models import Dataset, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    return record_enqueued(monkeypatch)


def add_video(owner, n: int, **fields) -> Video:
    defaults = {
        "title": f"clip {n}",
        "original_name": f"clip_{n}.mp4",
        "content_hash": f"{n:064x}",
        "size_bytes": 1000 + n,
        "original": f"videos/{owner.pk}/{n:064x}/original.mp4",
    }
    defaults.update(fields)
    return Video.objects.create(owner=owner, **defaults)


@pytest.fixture
def people():
    return {
        "rita": make_user("rita"),
        "sam": make_user("sam"),
        "rev": make_user("rev", Role.REVIEWER),
        "ann": make_user("ann", Role.ANNOTATOR),
        "pat": make_user("pat", Role.PARTICIPANT),
    }


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def test_researchers_see_their_own_reviewers_see_all(people):
    mine = add_video(people["rita"], 1)
    theirs = add_video(people["sam"], 2)
    assert ids(client_for(people["rita"]).get(LIST_URL)) == [mine.pk]
    assert ids(client_for(people["sam"]).get(LIST_URL)) == [theirs.pk]
    assert sorted(ids(client_for(people["rev"]).get(LIST_URL))) == [mine.pk, theirs.pk]
    # Another researcher's video does not exist for you.
    assert client_for(people["sam"]).get(f"{LIST_URL}{mine.pk}/").status_code == 404
    assert client_for(people["rev"]).get(f"{LIST_URL}{mine.pk}/").status_code == 200


@pytest.mark.parametrize("who", ["ann", "pat"])
def test_annotators_and_participants_cannot_browse(people, who):
    video = add_video(people["rita"], 1)
    client = client_for(people[who])
    assert client.get(LIST_URL).status_code == 403
    assert client.get(f"{LIST_URL}{video.pk}/").status_code == 404
    assert client.get(f"{LIST_URL}{video.pk}/poster/").status_code == 404


def test_view_hook_lets_another_app_grant_access(people, monkeypatch):
    video = add_video(people["rita"], 1)
    hooks: list = []
    monkeypatch.setattr(services, "_view_hooks", hooks)
    client = client_for(people["ann"])
    assert client.get(f"{LIST_URL}{video.pk}/").status_code == 404
    services.register_view_hook(lambda user, v: user.username == "ann" and v.pk == video.pk)
    assert services.user_can_view(people["ann"], video)
    assert client.get(f"{LIST_URL}{video.pk}/").status_code == 200
    assert client.get(LIST_URL).status_code == 403  # still no library browsing


def test_anonymous_gets_403(people):
    video = add_video(people["rita"], 1)
    assert client_for(None).get(LIST_URL).status_code == 403
    assert client_for(None).get(f"{LIST_URL}{video.pk}/stream/").status_code == 403


def test_search_filters_and_labels(people):
    rita = people["rita"]
    a = add_video(rita, 1, title="Dog jumps", label="jump", split="train")
    b = add_video(rita, 2, title="Cat sits", label="sit", split="val", status=Video.Status.READY)
    c = add_video(rita, 3, title="Dog sits", label="sit", split="train", original_name="x y.mp4")
    dataset = Dataset.objects.create(owner=rita, name="pets")
    c.datasets.add(dataset)
    client = client_for(rita)
    assert sorted(ids(client.get(LIST_URL, {"search": "dog"}))) == [a.pk, c.pk]
    assert ids(client.get(LIST_URL, {"search": "dog sits"})) == [c.pk]
    assert ids(client.get(LIST_URL, {"search": "x y"})) == [c.pk]
    assert sorted(ids(client.get(LIST_URL, {"label": "sit"}))) == [b.pk, c.pk]
    assert ids(client.get(LIST_URL, {"status": "ready"})) == [b.pk]
    assert ids(client.get(LIST_URL, {"label": "sit", "split": "train"})) == [c.pk]
    assert ids(client.get(LIST_URL, {"dataset": "pets"})) == [c.pk]
    labels = client.get(f"{LIST_URL}labels/").json()
    assert labels == [{"label": "jump", "count": 1}, {"label": "sit", "count": 2}]


def test_pagination_newest_first(people):
    rita = people["rita"]
    videos = [add_video(rita, n) for n in range(30)]
    client = client_for(rita)
    first = client.get(LIST_URL, {"page_size": 10}).json()
    assert first["count"] == 30
    assert [v["id"] for v in first["results"]] == [v.pk for v in reversed(videos)][:10]
    third = client.get(LIST_URL, {"page_size": 10, "page": 3}).json()
    assert third["next"] is None
    assert len(third["results"]) == 10
    assert client.get(LIST_URL, {"page": 99}).status_code == 404


def test_owner_edits_title_label_split(people):
    video = add_video(people["rita"], 1)
    url = f"{LIST_URL}{video.pk}/"
    response = client_for(people["rita"]).patch(
        url,
        {"title": " Renamed ", "label": "wave", "split": "test", "status": "ready"},
        format="json",
    )
    assert response.status_code == 200, response.content
    video.refresh_from_db()
    assert (video.title, video.label, video.split) == ("Renamed", "wave", "test")
    assert video.status == Video.Status.UPLOADED  # read-only field ignored
    blank = client_for(people["rita"]).patch(url, {"title": "  "}, format="json")
    assert blank.status_code == 400
    assert client_for(people["rev"]).patch(url, {"title": "x"}, format="json").status_code == 403
    assert client_for(people["sam"]).patch(url, {"title": "x"}, format="json").status_code == 404


def test_delete_removes_row_and_files(
    people, video_files, queued, django_capture_on_commit_callbacks
):
    rita = people["rita"]
    body = upload(client_for(rita), video_files["mp4_h264"].path).json()
    video = Video.objects.get(pk=body["id"])
    services.run_processing(video.pk)
    assert len(media_files()) == 4  # original, playback, poster, sprite
    assert client_for(people["rev"]).delete(f"{LIST_URL}{video.pk}/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(rita).delete(f"{LIST_URL}{video.pk}/")
    assert response.status_code == 204
    assert not Video.objects.exists()
    assert media_files() == []
    assert not media.local_path(video.folder).exists()


def test_reprocess_a_failed_video(people, queued, django_capture_on_commit_callbacks):
    video = add_video(people["rita"], 1, status=Video.Status.FAILED, error="bad")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(people["rita"]).post(f"{LIST_URL}{video.pk}/reprocess/")
    assert response.status_code == 202
    assert response.json()["status"] == "uploaded"
    assert response.json()["error"] == ""
    assert queued == [video.pk]
    Video.objects.filter(pk=video.pk).update(status=Video.Status.PROCESSING)
    busy = client_for(people["rita"]).post(f"{LIST_URL}{video.pk}/reprocess/")
    assert busy.status_code == 409


def test_timestamps_endpoint(people):
    video = add_video(people["rita"], 1, frame_timestamps=[0.0, 0.04, 0.08])
    body = client_for(people["rita"]).get(f"{LIST_URL}{video.pk}/timestamps/").json()
    assert body == {"frame_count": 3, "timestamps": [0.0, 0.04, 0.08]}


def test_api_root_links_videos(client):
    assert client.get("/api/v1/").json()["links"]["videos"].endswith("/api/v1/videos/")


def test_deleting_the_owner_removes_their_files(
    people, video_files, queued, django_capture_on_commit_callbacks
):
    rita = people["rita"]
    upload(client_for(rita), video_files["mp4_h264"].path)
    assert len(media_files()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        rita.delete()  # cascades to the videos
    assert not Video.objects.exists()
    assert media_files() == []


def test_detail_shows_how_the_playback_file_was_made(people, video_files, queued):
    rita = people["rita"]
    shown = {}
    for name in ("mp4_h264", "rotated"):
        body = upload(client_for(rita), video_files[name].path).json()
        assert body["playback_method"] is None and body["playback_reasons"] == []
        services.run_processing(body["id"])
        shown[name] = client_for(rita).get(f"{LIST_URL}{body['id']}/").json()
    assert shown["mp4_h264"]["playback_method"] == "remux"
    assert shown["mp4_h264"]["playback_reasons"] == []
    assert shown["rotated"]["playback_method"] == "transcode"
    assert shown["rotated"]["playback_reasons"] == [
        "the stream carries a rotation or flip (90 degrees)"
    ]
