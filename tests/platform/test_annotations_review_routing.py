"""Review routing: rejected work goes back to its annotator and, when they do not come back within
the project's ``rework_minutes``, to the pool; reviewers take work from a review queue with
leases (never their own, never an item another reviewer holds), also under concurrency on
PostgreSQL. Time moves by passing ``now``, never by sleeping."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from tests.annotation_support import annotation, box_track, make_project, make_video, user
from wherewhen.accounts.models import Role, User
from wherewhen.annotations import services
from wherewhen.annotations.models import Assignment
from wherewhen.core.exceptions import Conflict, NotAllowed

pytestmark = pytest.mark.django_db

API = "/api/v1/annotation"
Status = Assignment.Status


def work() -> dict:
    return annotation(box_track((2, (10, 10, 50, 50)), (8, (60, 40, 100, 80))), visual=(0.2, 0.8))


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


@pytest.fixture
def rita():
    return user("rita", Role.RESEARCHER)


@pytest.fixture
def robin():
    return user("robin", Role.REVIEWER)


def rejected(rita, robin, now, rework_minutes=60):
    """One video, k = 1: alice's annotation, rejected by robin at ``now``."""
    make_project(rita, [make_video(rita)], overlap=1, max_overlap=1, rework_minutes=rework_minutes)
    alice, bob = user("alice"), user("bob")
    mine = services.next_task(alice, now=now)
    services.submit(mine.pk, alice, work(), now=now)
    notes = [{"frame": 8, "track": 0, "text": "Too wide here."}]
    services.review(mine.pk, robin, "reject", "Tighten the box.", now=now, notes=notes)
    return mine, alice, bob


# --- rework time and the pool -------------------------------------------------------------------


def test_rejected_work_returns_to_the_pool_after_the_project_time(rita, robin):
    now = timezone.now()
    mine, alice, bob = rejected(rita, robin, now, rework_minutes=60)
    row = Assignment.objects.get(pk=mine.pk)
    assert row.status == Status.REJECTED and row.lease_expires_at == now + timedelta(minutes=60)
    # Within the time, the slot is alice's: bob gets nothing.
    assert services.next_task(bob, now=now + timedelta(minutes=59)) is None
    assert Assignment.objects.get(pk=mine.pk).status == Status.REJECTED
    # Past it, bob's queue request returns it to the pool and he takes the slot, from scratch.
    later = now + timedelta(minutes=61)
    theirs = services.next_task(bob, now=later)
    assert theirs is not None and theirs.task_id == mine.task_id and theirs.pk != mine.pk
    assert theirs.draft == {} and theirs.tracks.count() == 0
    # Alice's draft and the reviewer's notes are kept on her assignment, which is expired.
    row = Assignment.objects.get(pk=mine.pk)
    assert row.status == Status.EXPIRED
    assert row.draft["tracks"][0]["keyframes"][0]["frame"] == 2
    assert row.review_notes == [{"frame": 8, "track": 0, "text": "Too wide here."}]
    with pytest.raises(Conflict, match="went back to the pool"):
        services.save_draft(mine.pk, alice, work(), now=later)
    with pytest.raises(Conflict, match="given to other annotators"):
        services.resume(mine.pk, alice, now=later)


def test_the_annotator_who_comes_back_in_time_keeps_it(rita, robin):
    now = timezone.now()
    mine, alice, bob = rejected(rita, robin, now, rework_minutes=60)
    back = services.next_task(alice, now=now + timedelta(minutes=30))
    assert back.pk == mine.pk and back.status == Status.IN_PROGRESS
    services.save_draft(back.pk, alice, work(), now=now + timedelta(minutes=40))
    # The rework time no longer applies: she holds an ordinary lease, renewed by her drafts.
    assert services.next_task(bob, now=now + timedelta(minutes=65)) is None
    services.submit(back.pk, alice, now=now + timedelta(minutes=66))
    assert Assignment.objects.get(pk=mine.pk).status == Status.SUBMITTED


def test_late_but_unclaimed_work_can_still_be_taken_back(rita, robin):
    now = timezone.now()
    mine, alice, _bob = rejected(rita, robin, now, rework_minutes=60)
    later = now + timedelta(minutes=90)
    back = services.next_task(alice, now=later)  # nobody took the slot meanwhile
    assert back.pk == mine.pk and back.status == Status.IN_PROGRESS
    assert back.draft["tracks"][0]["keyframes"][1]["frame"] == 8


def test_rework_time_is_a_validated_project_setting(rita):
    client = client_for(rita)
    made = client.post(f"{API}/projects/", {"name": "p", "labels": ["jump"]}, format="json")
    assert made.status_code == 201 and made.json()["rework_minutes"] == 2880
    for bad in (0, 9, 30 * 24 * 60 + 1, "soon"):
        response = client.patch(
            f"{API}/projects/{made.json()['id']}/", {"rework_minutes": bad}, format="json"
        )
        assert response.status_code == 400 and "rework_minutes" in response.json()
    ok = client.patch(f"{API}/projects/{made.json()['id']}/", {"rework_minutes": 90}, format="json")
    assert ok.status_code == 200 and ok.json()["rework_minutes"] == 90


# --- the review queue -------------------------------------------------------------------------


def submissions(rita, n: int, now) -> list[Assignment]:
    """``n`` videos, each annotated and submitted by its own annotator, oldest first."""
    make_project(rita, [make_video(rita, f"v{i}") for i in range(n)], overlap=1, max_overlap=1)
    done = []
    for i in range(n):
        person = user(f"ann{i}")
        mine = services.next_task(person, now=now)
        done.append(services.submit(mine.pk, person, work(), now=now + timedelta(seconds=i)))
    return done


def test_reviewers_take_the_oldest_item_nobody_holds(rita, robin):
    now = timezone.now()
    first, second, third = submissions(rita, 3, now)
    sam = user("sam", Role.REVIEWER)
    assert services.next_review(robin, now=now).pk == first.pk
    assert services.next_review(sam, now=now).pk == second.pk
    # Asking again gives back the item one holds (lease renewed), not a new one.
    again = services.next_review(robin, now=now + timedelta(minutes=5))
    assert again.pk == first.pk
    assert again.review_lease_expires_at == now + timedelta(minutes=35)
    # Another reviewer's decision on a held item is refused; the holder's is not.
    with pytest.raises(Conflict, match="robin is reviewing"):
        services.review(first.pk, sam, "accept", now=now)
    services.review(first.pk, robin, "accept", now=now)
    row = Assignment.objects.get(pk=first.pk)
    assert row.review_holder is None and row.review_lease_expires_at is None  # released
    assert services.next_review(robin, now=now).pk == third.pk
    assert services.next_review(user("kim", Role.REVIEWER), now=now) is None


def test_a_lapsed_or_released_review_lease_frees_the_item(rita, robin):
    now = timezone.now()
    (only,) = submissions(rita, 1, now)
    sam = user("sam", Role.REVIEWER)
    services.next_review(robin, now=now)
    assert services.next_review(sam, now=now + timedelta(minutes=29)) is None
    # The lease (the project's lease_minutes, 30) ran out: sam takes it.
    assert services.next_review(sam, now=now + timedelta(minutes=31)).pk == only.pk
    assert Assignment.objects.get(pk=only.pk).review_holder == sam
    services.release_review(only.pk, sam)
    assert services.next_review(robin, now=now + timedelta(minutes=32)).pk == only.pk
    # Releasing an item one does not hold changes nothing.
    services.release_review(only.pk, sam)
    assert Assignment.objects.get(pk=only.pk).review_holder == robin


def test_nobody_reviews_their_own_work_and_annotators_get_no_reviews(rita):
    now = timezone.now()
    make_project(rita, [make_video(rita)], overlap=1, max_overlap=1)
    # A superuser with the annotator role both annotates and may review.
    boss = User.objects.create_user("boss", role=Role.ANNOTATOR, is_superuser=True)
    mine = services.next_task(boss, now=now)
    services.submit(mine.pk, boss, work(), now=now)
    assert services.next_review(boss, now=now) is None
    with pytest.raises(NotAllowed):
        services.review(mine.pk, boss, "accept", now=now)
    with pytest.raises(NotAllowed):
        services.next_review(user("alice"), now=now)


def test_a_researcher_reviews_only_their_projects(rita, robin):
    now = timezone.now()
    submissions(rita, 1, now)
    other = user("oscar", Role.RESEARCHER)
    assert services.next_review(other, now=now) is None
    assert services.next_review(rita, now=now) is not None


def test_review_queue_api(rita, robin):
    now = timezone.now()
    first, second = submissions(rita, 2, now)
    reviewer = client_for(robin)
    taken = reviewer.post(f"{API}/review-queue/next/", {}, format="json")
    assert taken.status_code == 200, taken.content
    body = taken.json()["assignment"]
    assert body["id"] == first.pk and body["review_holder"] == "robin"
    assert body["annotation"]["tracks"][0]["keyframes"][0]["frame"] == 2
    # The list shows who holds what.
    listed = reviewer.get(f"{API}/assignments/?status=submitted").json()["results"]
    rows = {r["id"]: r for r in listed}
    assert rows[first.pk]["review_holder"] == "robin" and rows[second.pk]["review_holder"] is None
    sam = client_for(user("sam", Role.REVIEWER))
    refused = sam.post(
        f"{API}/assignments/{first.pk}/review/", {"decision": "accept"}, format="json"
    )
    assert refused.status_code == 409 and "robin is reviewing" in refused.json()["detail"]
    assert sam.post(f"{API}/review-queue/next/", {}, format="json").json()["assignment"]["id"] == (
        second.pk
    )
    released = reviewer.post(f"{API}/assignments/{first.pk}/release-review/")
    assert released.status_code == 200 and released.json()["review_holder"] is None
    assert client_for(user("alice")).post(f"{API}/review-queue/next/", {}).status_code == 403
    assert reviewer.post(f"{API}/review-queue/next/", {"project": 999999}).status_code == 404
    empty = client_for(user("kim", Role.REVIEWER)).post(f"{API}/review-queue/next/", {})
    assert empty.status_code == 200
    # first is free again after the release
    assert empty.json()["assignment"]["id"] == first.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reviewers_never_get_the_same_item():
    """12 reviewers, each with its own connection, ask at the same moment, twice each, for 15
    items: every item goes to at most one reviewer and none is left while someone got nothing."""
    assert connection.vendor == "postgresql"
    now = timezone.now()
    rita = user("rita", Role.RESEARCHER)
    items = submissions(rita, 15, now)
    reviewers = [user(f"rev{i}", Role.REVIEWER) for i in range(12)]
    barrier = threading.Barrier(len(reviewers))
    got: dict[int, list[int]] = {}
    holding: list[int] = []
    errors: list[BaseException] = []

    def take(person) -> None:
        mine: list[int] = []
        try:
            barrier.wait()
            first = services.next_review(person)
            if first is not None:
                mine.append(first.pk)
                services.review(first.pk, person, "accept")
            second = services.next_review(person)
            if second is not None:
                mine.append(second.pk)
                holding.append(second.pk)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            got[person.pk] = mine
            connections.close_all()

    threads = [threading.Thread(target=take, args=(p,)) for p in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    taken = [pk for mine in got.values() for pk in mine]
    assert len(taken) == len(set(taken)), "an item went to two reviewers"
    assert set(taken) == {a.pk for a in items}  # 15 items, 24 requests: every item taken
    held = Assignment.objects.filter(status=Status.SUBMITTED).exclude(review_holder=None)
    assert sorted(held.values_list("pk", flat=True)) == sorted(holding)
