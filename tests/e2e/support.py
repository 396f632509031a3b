"""What the end-to-end tests share: signing in through the login page, a real gpu worker the
live server sends its tasks to, and counting the painted pixels of a canvas."""

from __future__ import annotations

import pytest
from celery import Celery
from playwright.sync_api import expect

from tests.conftest import TEST_REDIS_URL, redis_reachable

#: JavaScript: how many pixels of a canvas element are painted (alpha > 0).
CANVAS_PIXELS = """(el) => {
  const data = el.getContext("2d").getImageData(0, 0, el.width, el.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
  return painted;
}"""


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


@pytest.fixture(name="gpu_worker")
def gpu_worker_fixture(start_worker, monkeypatch):
    """A real gpu worker; the web (the live server in this process) sends it tasks."""
    from wherewhen.celery import app as platform_app
    from wherewhen.core import tasking

    broker = "redis" if redis_reachable() else "embedded"
    if broker == "redis":
        import redis

        redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    worker = start_worker(queues="gpu", broker=broker, wait=False)
    client = Celery("e2e-web", broker=worker.broker_url, backend=worker.result_backend)
    client.conf.update(
        task_queues=platform_app.conf.task_queues,
        task_routes=platform_app.conf.task_routes,
        task_default_queue="default",
        broker_transport_options=dict(platform_app.conf.broker_transport_options or {}),
    )
    monkeypatch.setattr(tasking, "celery_app", lambda: client)
    yield worker
    client.close()
