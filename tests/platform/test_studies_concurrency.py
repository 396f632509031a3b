"""Two browsers racing with the same participant id on PostgreSQL (real row locks): one
session, and one answer per trial however the requests interleave."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.explanations_support import researcher_fixture  # noqa: F401 - fixtures
from tests.studies_support import make_study
from wherewhen.core.exceptions import Conflict, DomainError
from wherewhen.studies import services
from wherewhen.studies.models import Response, Session

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n: int, work) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_same_participant_racing_gets_one_session_and_one_answer(researcher, settings):
    study = make_study(researcher, settings.MEDIA_ROOT, n_videos=1)
    sessions = race(4, lambda i: services.start_session(study, {"PROLIFIC_PID": "twin"})[0].pk)
    assert len(set(sessions)) == 1, sessions
    assert Session.objects.count() == 1
    session = Session.objects.get()
    services.consent(session, True)
    services.finish_instructions(session)
    trial = services.current_trial(session)

    def answer(i: int):
        s = Session.objects.get(pk=session.pk)
        return services.answer_trial(
            s, index=trial.index, response_id=f"browser-{i}", answer={"rating": 4}
        )

    outcomes = race(4, answer)
    ok = [o for o in outcomes if isinstance(o, services.AnswerOutcome)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(ok) == 1 and len(refused) == 3, outcomes
    assert all(isinstance(r, Conflict) for r in refused)
    assert Response.objects.count() == 1
    assert Session.objects.get().current_index == 1
