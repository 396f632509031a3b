"""The annotation API: projects, the queue, drafts, submission, review, permissions, and every
bad input answered with a clear 4xx that writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.annotation_support import (
    N_FRAMES,
    annotation,
    box_track,
    make_project,
    make_video,
    user,
)
from wherewhen.accounts.models import Role
from wherewhen.annotations import services
from wherewhen.annotations.models import Assignment, Keyframe, Project, Segment, Task, Track
from wherewhen.core.errors import to_api_exception
from wherewhen.core.exceptions import Invalid
from wherewhen.videos.models import Dataset

pytestmark = pytest.mark.django_db

API = "/api/v1/annotation"


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


@pytest.fixture
def rita():
    return user("rita", Role.RESEARCHER)


@pytest.fixture
def alex():
    return user("alex")


@pytest.fixture
def robin():
    return user("robin", Role.REVIEWER)


@pytest.fixture
def project(rita):
    return make_project(rita, [make_video(rita, "v1", with_file=True), make_video(rita, "v2")])


def good() -> dict:
    return annotation(
        box_track((2, (10, 10, 50, 50)), (8, (60, 40, 100, 80))),
        visual=(0.2, 0.8),
        sound=(0.3, 0.6),
    )


def take(person, project=None) -> dict:
    response = client_for(person).post(
        f"{API}/queue/next/", {"project": project.pk if project else None}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["assignment"]


def nothing_stored(assignment_id: int) -> bool:
    return (
        not Track.objects.filter(assignment_id=assignment_id).exists()
        and not Segment.objects.filter(assignment_id=assignment_id).exists()
    )


# --- projects ---------------------------------------------------------------------------------


def test_researcher_creates_a_project_and_adds_videos(rita):
    client = client_for(rita)
    response = client.post(
        f"{API}/projects/",
        {
            "name": "Jumps",
            "instructions": "# Mark the jump\nDraw a box around the **person**.",
            "labels": ["jump", "wave"],
            "overlap": 3,
            "show_predictions": False,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == "rita" and body["max_overlap"] == 5 and body["lease_minutes"] == 30
    assert body["progress"]["videos"] == 0
    videos = [make_video(rita, f"v{i}") for i in range(3)]
    dataset = Dataset.objects.create(owner=rita, name="set")
    dataset.videos.add(videos[2])
    added = client.post(
        f"{API}/projects/{body['id']}/videos/",
        {"videos": [videos[0].pk, videos[1].pk], "dataset": dataset.pk},
        format="json",
    )
    assert added.status_code == 201, added.content
    assert sorted(t["video"]["id"] for t in added.json()) == sorted(v.pk for v in videos)
    assert added.json()[0]["label"] == "jump" and added.json()[0]["required"] == 3
    # Adding again changes nothing.
    again = client.post(
        f"{API}/projects/{body['id']}/videos/", {"videos": [videos[0].pk]}, format="json"
    )
    assert again.status_code == 201 and again.json() == []
    assert client.get(f"{API}/projects/{body['id']}/").json()["progress"]["videos"] == 3


def test_project_validation(rita):
    client = client_for(rita)
    bad = client.post(
        f"{API}/projects/",
        {"name": "x", "overlap": 4, "max_overlap": 2, "labels": ["a", "a"]},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"labels"} or "max_overlap" in bad.json()
    other = user("olga", Role.RESEARCHER)
    foreign = make_video(other, "theirs")
    created = client.post(
        f"{API}/projects/", {"name": "p", "labels": ["jump"]}, format="json"
    ).json()
    refused = client.post(
        f"{API}/projects/{created['id']}/videos/", {"videos": [foreign.pk]}, format="json"
    )
    assert refused.status_code == 400
    assert f"No video of yours has id {foreign.pk}" in refused.json()["videos"][0]
    pending = make_video(rita, "pending")
    pending.status = "processing"
    pending.save()
    refused = client.post(
        f"{API}/projects/{created['id']}/videos/", {"videos": [pending.pk]}, format="json"
    )
    assert refused.status_code == 400 and "not ready" in refused.json()["videos"][0]
    assert not Task.objects.exists()


def test_researchers_see_only_their_projects_and_annotators_none(rita, alex, robin, project):
    olga = user("olga", Role.RESEARCHER)
    assert client_for(olga).get(f"{API}/projects/").json() == []
    assert client_for(olga).get(f"{API}/projects/{project.pk}/").status_code == 404
    assert client_for(olga).get(f"{API}/tasks/", {"project": project.pk}).json()["results"] == []
    assert client_for(alex).get(f"{API}/projects/").status_code == 403
    assert client_for(alex).get(f"{API}/tasks/").status_code == 403
    # Reviewers read every project but cannot change one.
    assert [p["id"] for p in client_for(robin).get(f"{API}/projects/").json()] == [project.pk]
    assert (
        client_for(robin)
        .patch(f"{API}/projects/{project.pk}/", {"name": "x"}, format="json")
        .status_code
        == 403
    )
    assert client_for(rita).get(f"{API}/projects/").json()[0]["id"] == project.pk


# --- the annotator's flow ------------------------------------------------------------------


def test_annotator_gets_a_task_saves_a_draft_and_submits(rita, alex, project):
    client = client_for(alex)
    queue = client.get(f"{API}/queue/").json()
    assert queue == [
        {
            "id": project.pk,
            "name": project.name,
            "instructions": "",
            "labels": ["jump", "wave"],
            "available": True,
            "mine": 0,
        }
    ]
    a = take(alex)
    assert a["status"] == "in_progress" and a["version"] == 0
    assert a["video"]["frame_timestamps"][:3] == [0.0, 0.1, 0.2]
    assert a["video"]["width"] == 160 and a["labels"] == ["jump", "wave"]
    assert a["project"]["instructions"] == "" and "is_gold" not in a
    assert a["draft"] == {"tracks": [], "segments": []}
    saved = client.put(
        f"{API}/assignments/{a['id']}/draft/", {**good(), "version": 0}, format="json"
    )
    assert saved.status_code == 200, saved.content
    assert saved.json()["version"] == 1
    detail = client.get(f"{API}/assignments/{a['id']}/").json()
    assert detail["draft"]["tracks"][0]["keyframes"][1]["x1"] == 100
    # Submitting with an empty body submits the saved draft.
    submitted = client.post(f"{API}/assignments/{a['id']}/submit/", {}, format="json")
    assert submitted.status_code == 200, submitted.content
    body = submitted.json()
    assert body["status"] == "submitted" and body["annotation"]["segments"][0]["kind"] == "visual"
    stored = Assignment.objects.get(pk=a["id"])
    assert stored.tracks.get().keyframes.count() == 2
    assert stored.segments.count() == 2


def test_assignment_video_streams_with_ranges(rita, alex, project):
    a = take(alex)
    client = client_for(alex)
    url = a["video_url"]
    assert a["video"]["title"] == "v1"  # the first video (the one with a file) is served first
    full = client.get(url)
    assert full.status_code == 200 and full["Content-Type"] == "video/mp4"
    assert full["Accept-Ranges"] == "bytes"
    part = client.get(url, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and part["Content-Range"].startswith("bytes 0-99/")
    assert len(b"".join(part.streaming_content)) == 100
    # The library's stream endpoint lets the annotator watch their assignment's video too.
    browser = APIClient()
    browser.force_login(alex)
    assert browser.get(f"/api/v1/videos/{a['video']['id']}/stream/").status_code == 200
    # Another annotator cannot.
    assert client_for(user("eve")).get(url).status_code == 404


def test_annotators_see_only_their_own_assignments(rita, alex, project):
    a = take(alex)
    eve = user("eve")
    e = take(eve)
    assert [x["id"] for x in client_for(alex).get(f"{API}/assignments/").json()["results"]] == [
        a["id"]
    ]
    assert client_for(alex).get(f"{API}/assignments/{e['id']}/").status_code == 404
    # Researchers see the assignments of their projects, not others'.
    assert len(client_for(rita).get(f"{API}/assignments/").json()["results"]) == 2
    assert (
        client_for(user("olga", Role.RESEARCHER)).get(f"{API}/assignments/").json()["results"] == []
    )


# --- bad input: a clear 4xx, nothing written -------------------------------------------------


@pytest.mark.parametrize(
    "payload, field, words",
    [
        (annotation(box_track((2, (50, 10, 10, 50)))), "tracks", "negative size"),
        (annotation(box_track((2, (10, 10, 170, 50)))), "tracks", "outside the frame"),
        (
            annotation(box_track((N_FRAMES, (10, 10, 50, 50)))),
            "tracks",
            "past the end of the video",
        ),
        (annotation(visual=(1.2, 0.4)), "segments", "ends before it starts"),
        (annotation(visual=(0.4, 0.4)), "segments", "is empty"),
        ({"tracks": [], "segments": []}, "detail", "Nothing to submit"),
    ],
)
def test_bad_submissions_are_refused_and_nothing_is_written(
    rita, alex, project, payload, field, words
):
    a = take(alex)
    client = client_for(alex)
    client.put(f"{API}/assignments/{a['id']}/draft/", good(), format="json")
    response = client.post(f"{API}/assignments/{a['id']}/submit/", payload, format="json")
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])
    stored = Assignment.objects.get(pk=a["id"])
    assert stored.status == "in_progress" and stored.submitted_at is None
    assert nothing_stored(a["id"])
    assert stored.draft["tracks"][0]["keyframes"][0]["x0"] == 10  # the draft is untouched


def test_bad_drafts_are_refused_and_the_last_good_draft_stays(rita, alex, project):
    a = take(alex)
    client = client_for(alex)
    assert (
        client.put(f"{API}/assignments/{a['id']}/draft/", good(), format="json").status_code == 200
    )
    bad = annotation(box_track((2, (-5, 10, 50, 50))))
    response = client.put(f"{API}/assignments/{a['id']}/draft/", bad, format="json")
    assert response.status_code == 400 and "outside the frame" in response.json()["tracks"][0]
    malformed = client.put(
        f"{API}/assignments/{a['id']}/draft/",
        {"tracks": [{"keyframes": [{"frame": "x"}]}]},
        format="json",
    )
    assert malformed.status_code == 400
    not_json = client.generic(
        "PUT", f"{API}/assignments/{a['id']}/draft/", "{nope", content_type="application/json"
    )
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["detail"]
    stored = Assignment.objects.get(pk=a["id"])
    assert stored.version == 1 and stored.draft["tracks"][0]["keyframes"][0]["x0"] == 10


def test_someone_elses_assignment_is_refused(rita, alex, project):
    a = take(alex)
    eve = user("eve")
    for method, path in (
        ("put", "draft"),
        ("post", "submit"),
        ("post", "resume"),
        ("post", "release"),
    ):
        response = getattr(client_for(eve), method)(
            f"{API}/assignments/{a['id']}/{path}/", good(), format="json"
        )
        assert response.status_code == 403, (path, response.content)
        assert response.json()["detail"] == "This assignment belongs to another annotator."
    assert (
        client_for(eve).post(f"{API}/assignments/999999/submit/", good(), format="json").status_code
        == 404
    )
    assert nothing_stored(a["id"]) and Assignment.objects.get(pk=a["id"]).version == 0


def test_submitting_twice_is_refused(rita, alex, project):
    a = take(alex)
    client = client_for(alex)
    assert (
        client.post(f"{API}/assignments/{a['id']}/submit/", good(), format="json").status_code
        == 200
    )
    other = annotation(box_track((0, (1, 1, 5, 5))))
    again = client.post(f"{API}/assignments/{a['id']}/submit/", other, format="json")
    assert (
        again.status_code == 409
        and again.json()["detail"] == "This task has already been submitted."
    )
    draft = client.put(f"{API}/assignments/{a['id']}/draft/", other, format="json")
    assert draft.status_code == 409
    kept = Assignment.objects.get(pk=a["id"])
    assert kept.tracks.get().keyframes.first().x0 == 10


def test_an_expired_lease_is_refused(rita, alex, project):
    a = take(alex)
    Assignment.objects.filter(pk=a["id"]).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = client_for(alex)
    for method, path in (("put", "draft"), ("post", "submit")):
        response = getattr(client, method)(
            f"{API}/assignments/{a['id']}/{path}/", good(), format="json"
        )
        assert response.status_code == 409
        assert "lease on this task expired" in response.json()["detail"]
    assert nothing_stored(a["id"])
    # Resuming takes it back while the video has room.
    resumed = client.post(f"{API}/assignments/{a['id']}/resume/")
    assert resumed.status_code == 200 and resumed.json()["status"] == "in_progress"


def test_stale_version_is_a_conflict(rita, alex, project):
    a = take(alex)
    client = client_for(alex)
    client.put(f"{API}/assignments/{a['id']}/draft/", {**good(), "version": 0}, format="json")
    stale = client.put(
        f"{API}/assignments/{a['id']}/draft/", {**annotation(), "version": 0}, format="json"
    )
    assert stale.status_code == 409 and "another window" in stale.json()["detail"]


# --- review ---------------------------------------------------------------------------------


def test_review_accept_and_reject_with_comment(rita, alex, robin, project):
    a = take(alex)
    client_for(alex).post(f"{API}/assignments/{a['id']}/submit/", good(), format="json")
    reviewer = client_for(robin)
    queue = reviewer.get(f"{API}/assignments/", {"status": "submitted"}).json()["results"]
    assert [q["id"] for q in queue] == [a["id"]] and queue[0]["annotator"] == "alex"
    detail = reviewer.get(f"{API}/assignments/{a['id']}/").json()
    assert detail["annotation"]["tracks"][0]["keyframes"][0]["frame"] == 2
    no_comment = reviewer.post(
        f"{API}/assignments/{a['id']}/review/", {"decision": "reject"}, format="json"
    )
    assert no_comment.status_code == 400 and "needs a comment" in no_comment.json()["comment"][0]
    assert (
        client_for(alex)
        .post(f"{API}/assignments/{a['id']}/review/", {"decision": "accept"}, format="json")
        .status_code
        == 403
    )
    rejected = reviewer.post(
        f"{API}/assignments/{a['id']}/review/",
        {"decision": "reject", "comment": "The box misses the arm."},
        format="json",
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    twice = reviewer.post(
        f"{API}/assignments/{a['id']}/review/", {"decision": "accept"}, format="json"
    )
    assert twice.status_code == 409
    # The annotator sees it back with the comment, fixes it and submits again.
    mine = client_for(alex).get(f"{API}/assignments/").json()["results"][0]
    assert mine["status"] == "rejected" and mine["review_comment"] == "The box misses the arm."
    back = take(alex)
    assert back["id"] == a["id"] and back["draft"]["tracks"]
    assert (
        client_for(alex).post(f"{API}/assignments/{a['id']}/submit/", {}, format="json").status_code
        == 200
    )
    accepted = reviewer.post(
        f"{API}/assignments/{a['id']}/review/", {"decision": "accept"}, format="json"
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    # Researchers of other projects cannot review it.
    olga = client_for(user("olga", Role.RESEARCHER))
    assert (
        olga.post(
            f"{API}/assignments/{a['id']}/review/", {"decision": "accept"}, format="json"
        ).status_code
        == 404
    )


# --- quality, ground truth, progress ---------------------------------------------------------


def test_ground_truth_quality_and_progress(rita, project):
    video = project.tasks.order_by("id").first().video
    people = [user(f"a{i}") for i in range(2)]
    for i, person in enumerate(people):
        mine = services.next_task(person, project)
        if mine.task.video_id != video.pk:
            services.release(mine.pk, person)
            mine = services.next_task(person, project)
        offset = 2 * i
        services.submit(
            mine.pk,
            person,
            annotation(
                box_track((2, (10 + offset, 10, 50 + offset, 50)), (8, (60, 40, 100, 80))),
                visual=(0.2, 0.8),
            ),
        )
        services.review(mine.pk, rita, "accept")
    client = client_for(rita)
    gt = client.get(f"{API}/projects/{project.pk}/ground-truth/", {"video": video.pk}).json()
    assert gt["source"] == "consensus" and gt["annotations"] == 2
    assert len(gt["frames"]) == N_FRAMES and gt["frames"][5]["time"] == 0.5
    assert gt["frames"][0]["boxes"] == [] and gt["frames"][2]["boxes"] == [[11, 10, 51, 50]]
    assert gt["when"] == {"visual": [[0.2, 0.8]], "sound": []}
    assert gt["agreement"] > 0.9
    assert client.get(f"{API}/tasks/{gt['task']}/ground-truth/").json() == gt
    assert client.get(f"{API}/projects/{project.pk}/ground-truth/", {"video": 0}).status_code == 400
    quality = client.get(f"{API}/projects/{project.pk}/quality/").json()
    assert {row["annotator"]["username"] for row in quality["annotators"]} == {"a0", "a1"}
    assert quality["videos"][0]["accepted"] == 2 and quality["videos"][0]["flagged"] is False
    progress = client.get(f"{API}/projects/{project.pk}/").json()["progress"]
    assert progress["accepted"] == 2 and progress["videos_done"] == 1


def test_gold_answers_and_accuracy(rita, project):
    task = project.tasks.order_by("id").first()
    client = client_for(rita)
    gold = annotation(box_track((0, (10, 10, 50, 50))), visual=(0.2, 0.8))
    response = client.put(f"{API}/tasks/{task.pk}/gold/", gold, format="json")
    assert (
        response.status_code == 200
        and response.json()["is_gold"]
        and response.json()["has_gold_answer"]
    )
    bad = client.put(
        f"{API}/tasks/{task.pk}/gold/", annotation(box_track((0, (10, 10, 5, 50)))), format="json"
    )
    assert bad.status_code == 400
    Project.objects.filter(pk=project.pk).update(gold_every=5)
    alex = user("alex")
    mine = services.next_task(alex)
    assert mine.task_id == task.pk
    services.submit(mine.pk, alex, annotation(box_track((0, (10, 10, 50, 30))), visual=(0.2, 0.5)))
    row = client.get(f"{API}/projects/{project.pk}/quality/").json()["annotators"][0]
    assert row["gold_items"] == 1
    assert row["gold_box_iou"] == pytest.approx(0.5)
    assert row["gold_segment_iou"] == pytest.approx(0.5)
    gt = client.get(f"{API}/tasks/{task.pk}/ground-truth/").json()
    assert gt["source"] == "gold" and gt["frames"][19]["boxes"] == [[10, 10, 50, 50]]


def test_more_annotators_and_removing_tasks(rita, project):
    task = project.tasks.order_by("id").first()
    client = client_for(rita)
    more = client.post(f"{API}/tasks/{task.pk}/more-annotators/", {"count": 1}, format="json")
    assert more.status_code == 200 and more.json()["required"] == 3
    capped = client.post(f"{API}/tasks/{task.pk}/more-annotators/", {"count": 1}, format="json")
    assert capped.status_code == 409
    services.next_task(user("alex"))
    busy = project.tasks.filter(assignments__isnull=False).first()
    assert client.delete(f"{API}/tasks/{busy.pk}/").status_code == 409
    idle = project.tasks.exclude(pk=busy.pk).first()
    assert client.delete(f"{API}/tasks/{idle.pk}/").status_code == 204


def test_import_ground_truth_service_creates_accepted_annotations(rita):
    project = make_project(rita)
    video = make_video(rita)
    a = services.import_ground_truth(
        project,
        video,
        [box_track((3, (10, 10, 40, 40)), (5, (20, 10, 50, 40)))],
        [{"kind": "visual", "start": 0.3, "end": 0.3}, {"kind": "sound", "start": 0.3, "end": 0.7}],
    )
    assert a.status == "accepted" and a.source == "import" and a.annotator is None
    gt = services.ground_truth_for_video(project, video)
    assert gt["source"] == "consensus" and gt["frames"][4]["boxes"] == [[15, 10, 45, 40]]
    assert gt["when"]["visual"] == [[0.3, 0.3]] and gt["when"]["sound"] == [[0.3, 0.7]]
    with pytest.raises(Invalid) as caught:
        services.import_ground_truth(project, video, [box_track((3, (10, 10, 400, 40)))], [])
    assert to_api_exception(caught.value).status_code == 400
    assert Assignment.objects.filter(task__project=project).count() == 1
    assert Keyframe.objects.filter(track__assignment__task__project=project).count() == 2


def test_demo_project_is_seeded_once(settings):
    from wherewhen.annotations.demo import DEMO_PROJECT, seed_demo

    settings.DEMO_BENCHMARK_CLIPS = 1
    researcher = user("researcher", Role.RESEARCHER)
    make_video(researcher, "demo clip", label="pattern")
    first = seed_demo()
    second = seed_demo()
    assert first.pk == second.pk and first.name == DEMO_PROJECT
    assert "pattern" in second.labels
    # The demo clip and the one synthetic benchmark clip, each once.
    assert Task.objects.filter(project=first).count() == 2


def test_api_root_lists_the_annotation_resources(client):
    links = client.get("/api/v1/").json()["links"]
    assert links["annotation-queue"].endswith("/api/v1/annotation/queue/")
    assert links["annotation-projects"].endswith("/api/v1/annotation/projects/")
