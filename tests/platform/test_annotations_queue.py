"""The task queue: overlap k, leases, gold items, returns, and concurrency on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tests.annotation_support import annotation, box_track, make_project, make_video, user
from wherewhen.accounts.models import Role
from wherewhen.annotations import services
from wherewhen.annotations.models import Assignment, Task
from wherewhen.annotations.services import queue
from wherewhen.core.exceptions import Conflict, NotAllowed

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher():
    return user("rita", Role.RESEARCHER)


def annotators(n: int, prefix: str = "ann") -> list:
    return [user(f"{prefix}{i}") for i in range(n)]


def good_annotation() -> dict:
    return annotation(box_track((2, (10, 10, 50, 50)), (8, (60, 40, 100, 80))), visual=(0.2, 0.8))


def test_never_more_than_k_and_never_the_same_video_twice(researcher):
    videos = [make_video(researcher, f"v{i}") for i in range(3)]
    make_project(researcher, videos, overlap=2)
    people = annotators(7)
    got = {}
    for person in people:
        got[person.username] = services.next_task(person)
    per_task = Counter(a.task_id for a in got.values() if a)
    assert sorted(per_task.values()) == [2, 2, 2]
    # 6 slots for 7 annotators: the last one gets nothing.
    assert sum(1 for a in got.values() if a is None) == 1
    # Videos are filled one after another (fullest first).
    first = [got[f"ann{i}"].task_id for i in range(2)]
    assert first[0] == first[1]
    # Asking again resumes the same assignment instead of taking a new slot.
    again = services.next_task(people[0])
    assert again.pk == got["ann0"].pk
    # Once submitted, the annotator gets a different video, never the same one again.
    services.submit(again.pk, people[0], good_annotation())
    assert services.next_task(people[0]) is None  # all other slots are taken
    assert Assignment.objects.filter(annotator=people[0]).count() == 1


def test_expired_leases_return_to_the_pool_and_keep_the_draft(researcher):
    video = make_video(researcher)
    make_project(researcher, [video], overlap=1, max_overlap=1)
    alice, bob = annotators(2)
    mine = services.next_task(alice)
    services.save_draft(mine.pk, alice, good_annotation())
    assert services.next_task(bob) is None  # the only slot is leased
    # The lease runs out.
    later = timezone.now() + timedelta(minutes=31)
    with pytest.raises(Conflict, match="lease on this task expired"):
        services.save_draft(mine.pk, alice, good_annotation(), now=later)
    with pytest.raises(Conflict, match="expired"):
        services.submit(mine.pk, alice, now=later)
    # Alice comes back first: she gets her assignment back, with her draft.
    back = services.resume(mine.pk, alice, now=later)
    assert back.status == Assignment.Status.IN_PROGRESS
    assert back.draft["tracks"][0]["keyframes"][0]["frame"] == 2
    # It expires again and this time Bob takes the slot; Alice cannot take it back.
    much_later = later + timedelta(minutes=31)
    theirs = services.next_task(bob, now=much_later)
    assert theirs is not None and theirs.task_id == mine.task_id
    mine.refresh_from_db()
    assert mine.status == Assignment.Status.EXPIRED
    with pytest.raises(Conflict, match="given to other annotators"):
        services.resume(mine.pk, alice, now=much_later)


def test_lease_length_comes_from_the_project(researcher):
    make_project(researcher, [make_video(researcher)], lease_minutes=5)
    a = services.next_task(annotators(1)[0])
    remaining = a.lease_expires_at - timezone.now()
    assert timedelta(minutes=4) < remaining <= timedelta(minutes=5)


def test_release_gives_the_slot_back(researcher):
    make_project(researcher, [make_video(researcher)], overlap=1, max_overlap=1)
    alice, bob = annotators(2)
    a = services.next_task(alice)
    services.release(a.pk, alice)
    assert services.next_task(bob).task_id == a.task_id


def test_rejected_work_goes_back_to_its_annotator_first(researcher):
    videos = [make_video(researcher, f"v{i}") for i in range(2)]
    make_project(researcher, videos, overlap=1, max_overlap=1)
    alice = annotators(1)[0]
    reviewer = user("robin", Role.REVIEWER)
    first = services.next_task(alice)
    services.submit(first.pk, alice, good_annotation())
    services.review(first.pk, reviewer, "reject", "Box too loose on frame 8")
    returned = services.next_task(alice)
    assert returned.pk == first.pk
    assert returned.status == Assignment.Status.IN_PROGRESS
    assert returned.review_comment == "Box too loose on frame 8"
    services.submit(returned.pk, alice, good_annotation())
    services.review(returned.pk, reviewer, "accept")
    assert services.next_task(alice).task_id != first.task_id


def test_gold_items_come_first_then_every_nth_and_ignore_k(researcher):
    videos = [make_video(researcher, f"v{i}") for i in range(6)]
    project = make_project(researcher, videos[:5], overlap=1, max_overlap=1, gold_every=3)
    gold_task = services.add_videos(project, [videos[5]], gold=True)[0]
    services.set_gold_answer(gold_task, good_annotation())
    people = annotators(2)
    for person in people:
        served = []
        for _ in range(4):
            a = services.next_task(person)
            if a is None:
                break
            served.append(a.task.is_gold)
            services.submit(a.pk, person, good_annotation())
        assert served[0] is True  # gold first, for every annotator (k does not apply)
        assert served.count(True) == 1  # each annotator sees a gold item once
    assert Assignment.objects.filter(task=gold_task, source="crowd").count() == 2


def test_gold_items_without_an_answer_are_not_served(researcher):
    project = make_project(researcher, [], gold_every=1)
    services.add_videos(project, [make_video(researcher)], gold=True)
    assert services.next_task(annotators(1)[0]) is None


def test_projects_can_be_limited_to_some_annotators(researcher):
    project = make_project(researcher, [make_video(researcher)])
    alice, bob = annotators(2)
    project.annotators.add(alice)
    assert services.next_task(bob) is None
    with pytest.raises(NotAllowed):
        services.next_task(bob, project)
    assert services.next_task(alice, project) is not None


def test_inactive_projects_give_no_tasks_and_only_annotators_get_tasks(researcher):
    make_project(researcher, [make_video(researcher)], active=False)
    assert services.next_task(annotators(1)[0]) is None
    with pytest.raises(NotAllowed):
        services.next_task(researcher)


def test_low_agreement_flags_the_video_for_more_annotators(researcher):
    video = make_video(researcher)
    project = make_project(researcher, [video], overlap=2, max_overlap=3, auto_accept=True)
    a, b, c = annotators(3)
    for person, box, when in (
        (a, (0, 0, 40, 40), (0.1, 0.5)),
        (b, (100, 60, 150, 110), (0.4, 1.2)),
    ):
        mine = services.next_task(person)
        services.submit(mine.pk, person, annotation(box_track((0, box)), visual=when))
    task = Task.objects.get(project=project, video=video)
    assert task.flagged and task.agreement < project.agreement_threshold
    assert task.required == 3
    third = services.next_task(c)
    assert third is not None and third.task_id == task.pk
    ground_truth = services.ground_truth_for_video(project, video)
    assert ground_truth["flagged"] is True
    assert ground_truth["agreement"] == pytest.approx(task.agreement)


def test_double_submission_and_someone_elses_assignment(researcher):
    make_project(researcher, [make_video(researcher)])
    alice, bob = annotators(2)
    a = services.next_task(alice)
    with pytest.raises(NotAllowed):
        services.submit(a.pk, bob, good_annotation())
    services.submit(a.pk, alice, good_annotation())
    with pytest.raises(Conflict, match="already been submitted"):
        services.submit(a.pk, alice, good_annotation())


def test_stale_draft_versions_are_refused(researcher):
    make_project(researcher, [make_video(researcher)])
    alice = annotators(1)[0]
    a = services.next_task(alice)
    saved = services.save_draft(a.pk, alice, good_annotation(), version=0)
    assert saved.version == 1
    with pytest.raises(Conflict, match="another window"):
        services.save_draft(a.pk, alice, annotation(), version=0)
    assert Assignment.objects.get(pk=a.pk).draft["tracks"]


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_annotators_at_once_on_postgresql():
    """50 threads, each with its own connection, ask for a task at the same moment, save a
    draft and submit: no video gets more than k, nobody gets a video twice, no work is lost."""
    assert connection.vendor == "postgresql"
    researcher = user("rita", Role.RESEARCHER)
    videos = [make_video(researcher, f"v{i}") for i in range(20)]
    k = 3
    make_project(researcher, videos, overlap=k, max_overlap=k)
    people = annotators(50)
    barrier = threading.Barrier(len(people))
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(person) -> None:
        got = []
        try:
            barrier.wait()
            for round_ in range(2):
                a = services.next_task(person)
                if a is None:
                    break
                got.append(a.pk)
                payload = annotation(
                    box_track((round_, (10, 10, 50 + person.pk % 20, 50))), visual=(0.1, 0.9)
                )
                services.save_draft(a.pk, person, payload, version=a.version)
                if person.pk % 5 == 0:
                    break  # keeps working on it: the lease holds the slot
                services.submit(a.pk, person)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            results[person.pk] = got
            connections.close_all()

    threads = [threading.Thread(target=work, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assignments = list(Assignment.objects.filter(source="crowd"))
    per_task = Counter(a.task_id for a in assignments)
    assert max(per_task.values()) <= k
    pairs = Counter((a.task_id, a.annotator_id) for a in assignments)
    assert max(pairs.values()) == 1
    # 20 videos x 3 = 60 slots, 50 annotators asking up to twice: every slot is used once
    # the first round's submitters come back.
    assert len(assignments) == sum(len(v) for v in results.values())
    assert len(assignments) == 60
    # No lost work: every draft saved under contention is stored, every submission written.
    for a in assignments:
        assert a.version >= 1 and a.draft["tracks"], a.pk
        if a.status == Assignment.Status.SUBMITTED:
            assert a.tracks.count() == 1


def _lease(person, task) -> Assignment:
    """Another request's slot on ``task``, taken from another connection."""
    return Assignment.objects.create(
        task=task,
        annotator=person,
        source="crowd",
        status=Assignment.Status.IN_PROGRESS,
        lease_expires_at=timezone.now() + timedelta(minutes=30),
    )


def _in_thread(fn) -> None:
    def run() -> None:
        try:
            fn()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_video_filled_between_the_pick_and_the_count_is_let_go(monkeypatch):
    """The candidate query's counts can be stale by the time its row is locked: the count under
    the lock catches it, the row is let go and the annotator gets the next video."""
    researcher = user("rita", Role.RESEARCHER)
    project = make_project(
        researcher, [make_video(researcher, f"v{i}") for i in range(2)], overlap=1, max_overlap=1
    )
    first, second = Task.objects.filter(project=project).order_by("id")
    alice, zed = annotators(2)
    real_pick, filled = queue._pick, []

    def pick(*args, **kwargs):
        task = real_pick(*args, **kwargs)
        if task is not None and not filled:
            # Another request takes the last slot of the video just locked, and commits.
            _in_thread(lambda: _lease(zed, task))
            filled.append(task.pk)
        return task

    monkeypatch.setattr(queue, "_pick", pick)
    got = services.next_task(alice, project)
    assert filled == [first.pk]
    assert got is not None and got.task_id == second.pk
    assert Assignment.objects.filter(task=first).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_request_waits_for_videos_held_by_others_instead_of_giving_up():
    """Every candidate locked by requests in flight: the request waits for a row (no sleeping
    and polling), finds that video filled when it is let go, and takes the other one."""
    researcher = user("rita", Role.RESEARCHER)
    project = make_project(
        researcher, [make_video(researcher, f"v{i}") for i in range(2)], overlap=1, max_overlap=1
    )
    first, second = Task.objects.filter(project=project).order_by("id")
    alice, zed = annotators(2)
    locked, hold = threading.Event(), 0.5

    def in_flight() -> None:
        with transaction.atomic():
            list(Task.objects.select_for_update().filter(project=project))
            locked.set()
            time.sleep(hold)
            _lease(zed, first)

    holder = threading.Thread(target=lambda: _in_thread(in_flight))
    holder.start()
    assert locked.wait(10)
    start = time.monotonic()
    got = services.next_task(alice, project)
    waited = time.monotonic() - start
    holder.join(timeout=30)
    assert got is not None and got.task_id == second.pk
    assert waited >= hold * 0.8
    assert Assignment.objects.filter(task=first).count() == 1
