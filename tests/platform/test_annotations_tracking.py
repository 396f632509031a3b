"""Assisted tracking through the API: a box followed forward and backward on a real video (a
synthetic clip whose target's true box is known on every frame), tracked boxes kept in the
annotation, bad requests answered with a 4xx that writes nothing; long runs on a real ``media``
worker (progress, cancel), and runs whose worker dies (killed for real, or a lease run out)
ending failed with a message instead of running forever."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.utils import timezone
from rest_framework.test import APIClient

from tests.annotation_support import long_video, make_project, synthetic_video, user
from tests.conftest import TEST_REDIS_URL, celery_client, redis_reachable
from wherewhen.accounts.models import Role
from wherewhen.annotations import services
from wherewhen.annotations.models import Keyframe, TrackingJob
from wherewhen.core import tasking
from workers.synthetic import scene_for

pytestmark = pytest.mark.django_db

API = "/api/v1/annotation"
SEED, INDEX = 3, 1


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


@pytest.fixture
def scene():
    return scene_for(SEED, INDEX)


@pytest.fixture
def setup(scene):
    rita = user("rita", Role.RESEARCHER)
    alex = user("alex")
    make_project(rita, [synthetic_video(rita, scene)], overlap=1, max_overlap=1)
    client = APIClient()
    client.force_authenticate(alex)
    taken = client.post(f"{API}/queue/next/", {}, format="json").json()["assignment"]
    return client, taken["id"], alex


def test_tracking_forward_follows_the_object(setup, scene):
    client, assignment, _ = setup
    start, end = scene.event_frames
    box = list(scene.target_box(start))
    response = client.post(
        f"{API}/tracking/",
        {
            "assignment": assignment,
            "frame": start,
            "box": box,
            "direction": "forward",
            "count": end - start,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    job = response.json()
    assert job["status"] == "done" and job["in_process"] and job["progress"] == 1.0
    frames = [b["frame"] for b in job["boxes"]]
    assert frames == list(range(start + 1, end + 1))
    scores = [
        iou((b["x0"], b["y0"], b["x1"], b["y1"]), scene.target_box(b["frame"]))
        for b in job["boxes"]
    ]
    assert min(scores) > 0.6, scores
    # The run can be read back by its owner.
    again = client.get(f"{API}/tracking/{job['id']}/")
    assert again.status_code == 200 and again.json()["boxes"] == job["boxes"]


def test_tracking_backward_gives_frames_before_the_box(setup, scene):
    client, assignment, _ = setup
    start, end = scene.event_frames
    response = client.post(
        f"{API}/tracking/",
        {
            "assignment": assignment,
            "frame": end,
            "box": list(scene.target_box(end)),
            "direction": "backward",
            "count": 5,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    boxes = response.json()["boxes"]
    assert [b["frame"] for b in boxes] == list(range(end - 5, end))
    for b in boxes:
        assert iou((b["x0"], b["y0"], b["x1"], b["y1"]), scene.target_box(b["frame"])) > 0.6


def test_tracked_boxes_are_kept_in_the_annotation(setup, scene):
    client, assignment, _ = setup
    start, _end = scene.event_frames
    box = scene.target_box(start)
    job = client.post(
        f"{API}/tracking/",
        {"assignment": assignment, "frame": start, "box": list(box), "count": 3},
        format="json",
    ).json()
    keyframes = [dict(zip(("x0", "y0", "x1", "y1"), box, strict=True), frame=start)]
    keyframes += [{**b, "tracked": True} for b in job["boxes"]]
    body = {"tracks": [{"label": "jump", "keyframes": keyframes}], "segments": []}
    submitted = client.post(f"{API}/assignments/{assignment}/submit/", body, format="json")
    assert submitted.status_code == 200, submitted.content
    stored = list(Keyframe.objects.filter(track__assignment_id=assignment).order_by("frame"))
    assert [(k.frame, k.tracked) for k in stored] == [
        (start, False),
        (start + 1, True),
        (start + 2, True),
        (start + 3, True),
    ]
    annotation = submitted.json()["annotation"]["tracks"][0]["keyframes"]
    assert "tracked" not in annotation[0] and annotation[1]["tracked"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"frame": 0, "box": [1, 2, 3]}, "box"),
        ({"frame": 0, "box": [10, 10, 5, 20]}, "box"),
        ({"frame": 0, "box": [10, 10, 500, 20]}, "box"),
        ({"frame": 999, "box": [10, 10, 30, 30]}, "frame"),
        ({"frame": 31, "box": [10, 10, 30, 30], "direction": "forward"}, "frame"),
        ({"frame": 0, "box": [10, 10, 30, 30], "direction": "backward"}, "frame"),
        ({"frame": 0, "box": [10, 10, 30, 30], "direction": "sideways"}, "direction"),
        ({"frame": 0, "box": [10, 10, 30, 30], "count": 0}, "count"),
        ({"frame": 0, "box": [10, 10, 30, 30], "method": "sam"}, "method"),
    ],
)
def test_bad_tracking_requests_are_clear_and_write_nothing(setup, body, field):
    client, assignment, _ = setup
    response = client.post(f"{API}/tracking/", {"assignment": assignment, **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not TrackingJob.objects.exists()


def test_someone_elses_assignment_and_run_are_refused(setup, scene):
    client, assignment, _ = setup
    start, _end = scene.event_frames
    job = client.post(
        f"{API}/tracking/",
        {
            "assignment": assignment,
            "frame": start,
            "box": list(scene.target_box(start)),
            "count": 2,
        },
        format="json",
    ).json()
    other = APIClient()
    other.force_authenticate(user("sam"))
    refused = other.post(
        f"{API}/tracking/",
        {
            "assignment": assignment,
            "frame": start,
            "box": list(scene.target_box(start)),
            "count": 2,
        },
        format="json",
    )
    assert refused.status_code in (403, 404)
    assert other.get(f"{API}/tracking/{job['id']}/").status_code == 403
    assert other.post(f"{API}/tracking/{job['id']}/cancel/").status_code == 403
    assert TrackingJob.objects.count() == 1


def test_a_cancelled_queued_run_never_starts(setup, scene):
    """A run cancelled before any worker took it: a later delivery leaves it alone."""
    client, assignment_id, _ = setup
    job = TrackingJob.objects.create(
        assignment_id=assignment_id,
        direction="forward",
        start_frame=0,
        end_frame=30,
        box=list(scene.target_box(0)),
    )
    cancelled = client.post(f"{API}/tracking/{job.pk}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    assert services.run_tracking(job.pk) == "cancelled"
    assert TrackingJob.objects.get(pk=job.pk).boxes == []


# --- a real media worker ----------------------------------------------------------------------


@pytest.fixture
def media_worker(start_worker, monkeypatch):
    """A real ``media`` worker; the web (this process) sends it the tracking tasks."""
    broker = "redis" if redis_reachable() else "embedded"
    if broker == "redis":
        import redis

        redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    worker = start_worker(queues="media", broker=broker)
    client = celery_client(worker)
    monkeypatch.setattr(tasking, "celery_app", lambda: client)
    yield worker
    client.close()


def poll(client, job_id: int, until, worker, timeout: float = 90.0) -> dict:
    """The run as its owner reads it, once ``until(run)`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        run = client.get(f"{API}/tracking/{job_id}/").json()
        if until(run):
            return run
        time.sleep(0.05)
    raise AssertionError(f"tracking run {job_id} never got there: {run}\n{worker.output()}")


def long_setup():
    rita, alex = user("rita", Role.RESEARCHER), user("alex")
    make_project(rita, [long_video(rita)], overlap=1, max_overlap=1)
    client = APIClient()
    client.force_authenticate(alex)
    taken = client.post(f"{API}/queue/next/", {}, format="json").json()["assignment"]
    body = {"assignment": taken["id"], "frame": 0, "box": [200, 100, 300, 200], "count": 499}
    return client, body


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_long_run_is_tracked_by_a_real_media_worker(media_worker, scene):
    rita, alex = user("rita", Role.RESEARCHER), user("alex")
    make_project(rita, [synthetic_video(rita, scene)], overlap=1, max_overlap=1)
    client = APIClient()
    client.force_authenticate(alex)
    taken = client.post(f"{API}/queue/next/", {}, format="json").json()["assignment"]
    count = services.IN_PROCESS_FRAMES + 6
    body = {"assignment": taken["id"], "frame": 0, "box": list(scene.target_box(0))}
    queued = client.post(f"{API}/tracking/", {**body, "count": count}, format="json")
    assert queued.status_code == 202, queued.content
    assert queued.json()["in_process"] is False
    done = poll(client, queued.json()["id"], lambda r: r["status"] == "done", media_worker)
    assert done["progress"] == 1.0 and [b["frame"] for b in done["boxes"]] == list(
        range(1, count + 1)
    )
    row = TrackingJob.objects.get(pk=done["id"])
    assert row.claimed_by.startswith("tracking|") and row.lease_expires_at is None


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_running_job_reports_progress_and_stops_when_cancelled(media_worker):
    client, body = long_setup()
    job = client.post(f"{API}/tracking/", body, format="json").json()
    running = poll(
        client, job["id"], lambda r: r["status"] == "running" and r["progress"] > 0, media_worker
    )
    assert 0 < running["progress"] < 1
    assert client.post(f"{API}/tracking/{job['id']}/cancel/").json()["status"] == "running"
    stopped = poll(client, job["id"], lambda r: r["status"] != "running", media_worker)
    assert stopped["status"] == "cancelled", stopped
    assert 8 <= len(stopped["boxes"]) < 499  # the boxes found before the stop are kept


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_leaves_a_failed_run_not_a_running_one(media_worker):
    client, body = long_setup()
    job = client.post(f"{API}/tracking/", body, format="json").json()
    poll(client, job["id"], lambda r: r["status"] == "running" and r["progress"] > 0, media_worker)
    media_worker.kill()  # SIGKILL, worker and pool child: no chance to write anything
    # Its lease has not run out, but its process is gone from this host: reading the run says
    # so (as soon as the kernel has finished the pool child off; SIGKILL is not synchronous).
    failed = poll(client, job["id"], lambda r: r["status"] != "running", media_worker, 10)
    assert failed["status"] == "failed", failed
    lease = TrackingJob.objects.get(pk=job["id"])
    assert failed["finished_at"] is not None and lease.lease_expires_at is None
    assert "stopped before finishing" in failed["error"] and "Track again" in failed["error"]
    assert failed["finished_at"] is not None
    # The annotator tracks again (no worker now: a short run, in the request).
    again = client.post(f"{API}/tracking/", {**body, "count": 5}, format="json")
    assert again.status_code == 200 and again.json()["status"] == "done"


# --- leases, with the clock moved instead of waiting -------------------------------------------


def test_a_run_whose_lease_ran_out_is_failed_when_read(setup, scene):
    client, assignment_id, _ = setup
    now = timezone.now()
    elsewhere = "tracking|another-host|4242"  # a process this host cannot check
    stale, live = (
        TrackingJob.objects.create(
            assignment_id=assignment_id,
            direction="forward",
            start_frame=0,
            end_frame=30,
            box=list(scene.target_box(0)),
            status="running",
            claimed_by=elsewhere,
            lease_expires_at=lease,
        )
        for lease in (now - timedelta(seconds=1), now + timedelta(seconds=30))
    )
    read = client.get(f"{API}/tracking/{stale.pk}/").json()
    assert read["status"] == "failed" and "stopped before finishing" in read["error"]
    assert client.get(f"{API}/tracking/{live.pk}/").json()["status"] == "running"
    # Once its lease runs out too (the clock moved past it), it fails the same way; twice is
    # the same as once.
    later = now + timedelta(seconds=services.tracking.LEASE_SECONDS)
    assert services.tracking.fail_abandoned(later) == 1
    assert services.tracking.fail_abandoned(later) == 0
    assert TrackingJob.objects.get(pk=live.pk).status == "failed"


def test_a_queued_run_no_worker_took_fails(setup, scene):
    client, assignment_id, _ = setup
    job = TrackingJob.objects.create(
        assignment_id=assignment_id,
        direction="forward",
        start_frame=0,
        end_frame=30,
        box=list(scene.target_box(0)),
    )
    services.tracking.fail_abandoned(timezone.now())
    assert TrackingJob.objects.get(pk=job.pk).status == "queued"  # just queued: left alone
    late = timezone.now() + timedelta(seconds=services.tracking.QUEUED_SECONDS + 1)
    services.tracking.fail_abandoned(late)
    row = TrackingJob.objects.get(pk=job.pk)
    assert row.status == "failed" and "No tracking worker picked this run up" in row.error


def test_a_worker_that_lost_its_run_writes_nothing(setup, scene, monkeypatch):
    """A worker too slow to renew its lease is declared gone; when it finishes after all, the
    failure stands and its boxes are not written."""
    _client, assignment_id, _ = setup
    job = TrackingJob.objects.create(
        assignment_id=assignment_id,
        direction="forward",
        start_frame=0,
        end_frame=30,
        box=list(scene.target_box(0)),
    )
    original = services.tracking.track_box

    def stalls_then_finishes(*args, on_progress, **kwargs):
        def report(done):
            on_progress(done)
            if done == 9:  # after a heartbeat: the clock jumps past the lease
                late = timezone.now() + timedelta(seconds=services.tracking.LEASE_SECONDS + 1)
                assert services.tracking.fail_abandoned(late) == 1

        return original(*args, on_progress=report, **kwargs)

    monkeypatch.setattr(services.tracking, "track_box", stalls_then_finishes)
    assert services.run_tracking(job.pk) == "failed"
    row = TrackingJob.objects.get(pk=job.pk)
    assert row.status == "failed" and row.boxes == [] and "stopped before finishing" in row.error
