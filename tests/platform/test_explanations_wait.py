"""The status long-poll (``.../status/wait/``): the status URL's permissions, an immediate answer
when the client is behind, a clean answer at the timeout, bad parameters, the cap on waits."""

from __future__ import annotations

import json
import time

import pytest

from tests.explanations_support import (  # noqa: F401 - fixtures
    annotator_fixture,
    fake_broker_fixture,
    other_researcher_fixture,
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from tests.platform.test_explanations_api import complete
from wherewhen.explanations.models import Explanation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_redis(settings):
    settings.EXPLANATION_NOTIFY_URL = ""  # waiters read the database (the embedded set-up)


@pytest.fixture
def queued(client, researcher, settings, tiny_checkpoint, fake_broker):
    video = ready_video(researcher, settings.MEDIA_ROOT, title="walk")
    model = register_tiny_model(researcher, tiny_checkpoint)
    client.force_login(researcher)
    body = {"video": video.pk, "model": model.pk, "method": "staa"}
    r = client.post("/api/v1/explanations/", json.dumps(body), content_type="application/json")
    assert r.status_code == 202
    client.logout()
    return Explanation.objects.get(pk=r.json()["id"])


def wait_url(pk: int, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/explanations/{pk}/status/wait/" + (f"?{query}" if query else "")


def test_same_permissions_as_the_status_url(
    client, queued, researcher, other_researcher, annotator
):
    for user in (None, other_researcher, annotator):
        if user is not None:
            client.force_login(user)
        plain = client.get(f"/api/v1/explanations/{queued.pk}/status/")
        waited = client.get(wait_url(queued.pk, status="queued", timeout=1))
        assert plain.status_code in (401, 403, 404)
        assert waited.status_code == plain.status_code
        assert "status" not in waited.json()  # nothing about the explanation leaks
    client.force_login(researcher)
    assert client.get(wait_url(999999, status="queued")).status_code == 404


def test_answers_at_once_when_the_client_is_behind(client, researcher, queued):
    client.force_login(researcher)
    started = time.monotonic()
    r = client.get(wait_url(queued.pk, status="running", timeout=20))
    assert r.status_code == 200 and r.json()["status"] == "queued"
    assert time.monotonic() - started < 10  # not held until the timeout
    complete(queued)
    r = client.get(wait_url(queued.pk, status="queued", timeout=20))
    assert r.json()["status"] == "done" and r.json()["progress"] == 1.0
    assert r.json() == client.get(f"/api/v1/explanations/{queued.pk}/status/").json()


def test_times_out_with_the_current_status(client, researcher, queued, settings):
    client.force_login(researcher)
    started = time.monotonic()
    r = client.get(wait_url(queued.pk, status="queued", progress=0, timeout=0.6))
    assert r.status_code == 200
    assert r.json()["status"] == "queued" and r.json()["id"] == queued.pk
    assert time.monotonic() - started >= 0.6


@pytest.mark.parametrize(
    "params, field",
    [({"timeout": "abc"}, "timeout"), ({"timeout": "26"}, "timeout"),
     ({"timeout": "-1"}, "timeout"), ({"progress": "2"}, "progress"),
     ({"progress": "nan"}, "progress")],
)  # fmt: skip
def test_bad_parameters_are_a_400(client, researcher, queued, params, field):
    client.force_login(researcher)
    r = client.get(wait_url(queued.pk, **params))
    assert r.status_code == 400 and field in r.json()


def test_waits_are_capped(client, researcher, queued, settings):
    settings.EXPLANATION_WAIT_MAX_STREAMS = 0
    client.force_login(researcher)
    r = client.get(wait_url(queued.pk, status="queued", timeout=5))
    assert r.status_code == 429 and r["Retry-After"] and "poll" in r.json()["detail"]
    # A client that is behind is still answered: no wait is needed for that.
    assert client.get(wait_url(queued.pk, status="running")).status_code == 200
    assert client.post(wait_url(queued.pk)).status_code in (403, 405)
