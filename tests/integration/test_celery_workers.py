"""Round trips through real Celery worker processes, on Redis and on the embedded broker."""

import platform
import signal
import time

import pytest

from tests.conftest import celery_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("broker", ["redis", "embedded"])
def test_ping_round_trip_on_each_queue(start_worker, broker):
    """One worker per queue; a ping sent to a queue is answered by that queue's worker."""
    workers = {
        q: start_worker(queues=q, broker=broker, wait=False) for q in ("default", "media", "gpu")
    }
    for worker in workers.values():
        worker.wait_ready()
    client = celery_client(workers["default"])
    for queue, worker in workers.items():
        result = client.send_task("core.ping", queue=queue).get(timeout=30)
        assert result["pong"] is True
        assert result["worker"] == worker.hostname
        # The worker imports the stdlib platform module, not the platform/ folder.
        assert result["system"] == platform.system()
        # Bookkeeping stays light: nothing loaded torch in this worker.
        assert result["torch_loaded"] is False


def _poll(client, expected_status: int, deadline_s: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if client.get("/healthz").status_code == expected_status:
            return time.monotonic() - start
        time.sleep(0.5)
    raise AssertionError(f"/healthz did not turn {expected_status} within {deadline_s} s")


def test_healthz_follows_workers(start_worker, client):
    """Green with a worker on every queue; 503 within 30 s of a crash; green again on restart."""
    worker = start_worker(queues="default,media,gpu")
    _poll(client, 200, 30)
    body = client.get("/healthz").json()
    assert body["checks"]["workers"]["queues"]["gpu"] == [worker.hostname]

    worker.kill()  # a crash: no clean shutdown, the heartbeat just stops
    _poll(client, 503, 30)

    start_worker(queues="default,media,gpu")
    _poll(client, 200, 30)


def test_clean_stop_removes_worker_at_once(start_worker, client):
    worker = start_worker(queues="default,media,gpu")
    _poll(client, 200, 30)
    assert worker.stop(signal.SIGTERM) == 0
    assert client.get("/healthz").status_code == 503
