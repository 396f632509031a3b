"""Scores recomputed by a real ``default``-queue worker when ground truth or explanations change,
and only for the pairs that changed."""

from __future__ import annotations

import time

import pytest
from django.db import close_old_connections

from tests.conftest import TEST_REDIS_URL, celery_client, redis_reachable
from tests.scoring_support import (
    box_from,
    ground_truth,
    make_explanation,
    make_project,
    make_video,
    peak_map,
    user,
)
from wherewhen.accounts.models import Role
from wherewhen.core import tasking
from wherewhen.scoring import leaderboards
from wherewhen.scoring.models import ExplanationScore, ScoreRequest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOX = (40, 30, 80, 60)


@pytest.fixture
def default_worker(start_worker, monkeypatch):
    broker = "redis" if redis_reachable() else "embedded"
    if broker == "redis":
        import redis

        redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    worker = start_worker(queues="default", broker=broker)
    client = celery_client(worker)
    monkeypatch.setattr(tasking, "celery_app", lambda: client)
    yield worker
    client.close()


def settle(project, worker, timeout: float = 60.0) -> None:
    """Wait until the worker has handled every request of ``project``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if not ScoreRequest.objects.filter(project=project).exists():
            return
        time.sleep(0.2)
    raise AssertionError(f"scores still pending after {timeout} s:\n{worker.output()}")


def stamps(project) -> dict[tuple, tuple]:
    return {
        (s.explanation_id, s.reference, s.assignment_id): (s.computed_at, s.key)
        for s in ExplanationScore.objects.filter(project=project)
    }


def test_the_worker_recomputes_only_what_changed(default_worker):
    rita = user("rita", Role.RESEARCHER)
    v1, v2 = make_video(rita, "one"), make_video(rita, "two")
    project = make_project(rita, [v1, v2])
    ground_truth(project, v1, [box_from(0, BOX)])
    ground_truth(project, v2, [box_from(0, BOX)])
    e1 = make_explanation(v1, peak_map([(1, 1)] * 4))
    e2 = make_explanation(v2, peak_map([(3, 3)] * 4))
    settle(project, default_worker)
    before = stamps(project)
    assert len(before) == 4  # two explanations x (consensus + one annotation)
    assert ExplanationScore.objects.get(explanation=e1, reference="consensus").frames_hit == 4

    # video one gets a second annotation: its consensus changes and a reference is added;
    # the first annotator's pair and everything of video two are left alone
    added = ground_truth(project, v1, [box_from(0, (44, 32, 84, 62))])
    settle(project, default_worker)
    after = stamps(project)
    changed = {k for k in after if k not in before or after[k] != before[k]}
    assert changed == {(e1.pk, "consensus", None), (e1.pk, "annotator", added.pk)}
    assert all(after[k] == before[k] for k in before if k[0] == e2.pk)

    # a finished explanation is scored on its own
    e3 = make_explanation(v2, peak_map([(1, 1)] * 4), method="random")
    settle(project, default_worker)
    latest = stamps(project)
    new = {k for k in latest if k not in after}
    assert new == {k for k in latest if k[0] == e3.pk} and len(new) == 2
    assert all(latest[k] == after[k] for k in after)
    board = leaderboards.leaderboard(rita, project)
    assert not board["stale"] and {r["method"] for r in board["rows"]} == {"staa", "random"}
