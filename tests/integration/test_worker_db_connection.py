"""A gpu worker keeps its PostgreSQL connection from one explanation to the next, and one the
server dropped in between is replaced before the next task uses it (no failed attempt, no
retry): real worker, real PostgreSQL, real Redis."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from tests.explanations_support import (  # noqa: F401 - fixtures
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from tests.integration.test_explanations_worker import (  # noqa: F401 - fixture
    WORKER_ENV,
    post,
    redis_app,
    statuses,
    wait_for,
)
from wherewhen.explanations.models import Explanation

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _need_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("connection reuse is about PostgreSQL (SQLite connections are files)")


def sessions_started() -> int:
    """PostgreSQL's count of sessions ever opened on the test database (statistics are
    flushed within about a second; read them fresh)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def other_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def explain_one(client, model, video, worker) -> Explanation:
    body = {"video": video.pk, "model": model.pk, "method": "staa"}
    eid = post(client, "/api/v1/explanations/", body).json()["id"]
    wait_for(lambda: statuses([eid])[eid] == "done", 90, f"explanation {eid} done", worker)
    return Explanation.objects.get(pk=eid)


@pytest.mark.usefixtures("redis_app")
def test_worker_reuses_its_connection_and_replaces_a_dropped_one(
    start_worker, client, researcher, tiny_checkpoint, settings
):
    _need_postgres()
    model = register_tiny_model(researcher, tiny_checkpoint)
    videos = [ready_video(researcher, settings.MEDIA_ROOT, title=f"v{i}") for i in range(7)]
    client.force_login(researcher)
    worker = start_worker(queues="gpu", broker="redis", extra_env=WORKER_ENV)
    explain_one(client, model, videos[0], worker)  # warm: model loaded, connections open

    # Five explanations one after the other open (almost) no new session: Celery's Django
    # fix-up would otherwise close the task's connection after each one.
    time.sleep(1.5)
    before = sessions_started()
    for video in videos[1:6]:
        explain_one(client, model, video, worker)
    time.sleep(1.5)
    opened = sessions_started() - before
    assert opened <= 2, f"{opened} new database sessions for 5 explanations"

    # The server drops every connection of the worker between two tasks: the next explanation
    # is computed at its first attempt, on a fresh connection, without a retry.
    with connection.cursor() as cursor:
        for pid in other_backends():
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    row = explain_one(client, model, videos[6], worker)
    assert row.attempts == 1 and row.status == "done"
    log = worker.output()
    assert "Retry in" not in log and "transient failure" not in log, log[-3000:]
