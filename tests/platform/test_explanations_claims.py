"""The claiming protocol: one owner at a time, takeover only from dead owners, conditional
results, batches of companions, abandoned work queued again, giving up on poison requests."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from tests.explanations_support import (  # noqa: F401 - fixtures
    fake_broker_fixture,
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from wherewhen.core import media
from wherewhen.explanations import claims, services, storage
from wherewhen.explanations.models import Explanation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def model(researcher, tiny_checkpoint):
    return register_tiny_model(researcher, tiny_checkpoint)


@pytest.fixture
def videos(researcher, settings):
    return [ready_video(researcher, settings.MEDIA_ROOT, title=f"v{i}") for i in range(3)]


def request(user, video, model, method="staa", **kw) -> Explanation:
    return services.request_explanation(
        user, video=video, model=model, method=method, **kw
    ).explanation


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_one_owner_at_a_time(researcher, videos, model, fake_broker):
    e = request(researcher, videos[0], model)
    a, b = claims.worker_identity("a"), "b|elsewhere|1"
    claimed = claims.claim(e.pk, a)
    assert claimed is not None and claimed.status == "running" and claimed.attempts == 1
    assert claims.claim(e.pk, b) is None  # a live owner keeps it
    assert claims.renew([e.pk], b) == set()
    assert claims.renew([e.pk], a, progress=0.5) == {e.pk}
    e.refresh_from_db()
    assert e.progress == 0.5
    assert claims.finish(e.pk, b, {"map_file": "x"}) is False  # not the owner: nothing changes
    assert claims.finish(e.pk, a, {"map_file": "m.npy"}) is True
    e.refresh_from_db()
    assert e.status == "done" and e.map_file == "m.npy" and e.lease_expires_at is None
    assert claims.claim(e.pk, b) is None  # done is final


def test_takeover_after_the_lease_runs_out(researcher, videos, model, fake_broker):
    e = request(researcher, videos[0], model)
    claims.claim(e.pk, "a|elsewhere|1")
    Explanation.objects.filter(pk=e.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    again = claims.claim(e.pk, "b|elsewhere|2")
    assert again is not None and again.claimed_by == "b|elsewhere|2" and again.attempts == 2
    assert claims.finish(e.pk, "a|elsewhere|1", {}) is False  # the old owner lost it


def test_takeover_at_once_when_the_owner_process_is_dead(researcher, videos, model, fake_broker):
    e = request(researcher, videos[0], model)
    gone = claims.worker_identity("gone").rsplit("|", 1)[0] + f"|{dead_pid()}"
    claims.claim(e.pk, gone)
    assert claims.owner_is_alive(gone) is False
    assert claims.owner_is_alive(claims.worker_identity("me")) is True
    assert claims.owner_is_alive("x|some-other-host|1") is None
    assert claims.claim(e.pk, claims.worker_identity("new")) is not None


def test_abandoned_work_is_queued_again_then_given_up(
    researcher, videos, model, fake_broker, settings
):
    settings.EXPLANATION_MAX_ATTEMPTS = 2
    e = request(researcher, videos[0], model)
    gone = claims.worker_identity("gone").rsplit("|", 1)[0] + f"|{dead_pid()}"
    live = request(researcher, videos[1], model)
    claims.claim(e.pk, gone)
    claims.claim(live.pk, claims.worker_identity("alive"))
    sent_before = len(fake_broker.sent)
    assert claims.requeue_abandoned() == [e.pk]
    e.refresh_from_db()
    assert e.status == "queued" and e.claimed_by == "" and e.attempts == 1
    assert fake_broker.sent[sent_before:] == [
        ("gpu.explanations.compute", [e.pk], fake_broker.sent[-1][2])
    ]
    assert Explanation.objects.get(pk=live.pk).status == "running"  # its owner is alive
    claims.claim(e.pk, gone)  # dies a second time
    assert claims.requeue_abandoned() == []
    e.refresh_from_db()
    assert e.status == "failed" and "stopped 2 times" in e.error


def test_release_puts_work_back(researcher, videos, model, fake_broker):
    e = request(researcher, videos[0], model)
    owner = claims.worker_identity("a")
    claims.claim(e.pk, owner)
    assert claims.release([e.pk], owner) == 1
    e.refresh_from_db()
    assert e.status == "queued" and e.claimed_by == ""
    assert claims.fail_if_queued(e.pk, "gave up") is True
    assert Explanation.objects.get(pk=e.pk).error == "gave up"


def test_companions_share_model_method_parameters_and_target_kind(
    researcher, videos, model, fake_broker
):
    first = request(researcher, videos[0], model)
    same = [request(researcher, v, model) for v in videos[1:]]
    other_params = request(researcher, videos[1], model, params={"head_fusion": "max"})
    other_method = request(researcher, videos[1], model, method="rollout")
    with_target = request(researcher, videos[2], model, target=1)
    owner = claims.worker_identity("w")
    claims.claim(first.pk, owner)
    got = claims.claim_companions(first, owner, limit=8)
    assert sorted(e.pk for e in got) == sorted(e.pk for e in same)
    assert all(e.status == "running" and e.claimed_by == owner for e in got)
    for e in (other_params, other_method, with_target):
        assert Explanation.objects.get(pk=e.pk).status == "queued"
    assert claims.claim_companions(first, owner, limit=8) == []


def test_map_files_are_written_atomically_at_a_deterministic_path(settings):
    heat = np.random.default_rng(0).random((2, 3, 3), dtype=np.float32)
    path1, sha1 = storage.write_map("ab" * 32, heat)
    path2, sha2 = storage.write_map("ab" * 32, heat)
    assert path1 == path2 and sha1 == sha2
    folder = media.local_path(path1).parent
    assert [p.name for p in folder.iterdir()] == [f"{'ab' * 32}.npy"]  # no temporary files left
    assert np.array_equal(storage.read_map(path1), heat)


def test_lease_keeper_renews_and_reports_progress(researcher, videos, model, fake_broker, settings):
    from types import SimpleNamespace

    from wherewhen.explanations.compute import LeaseKeeper

    settings.EXPLANATION_LEASE_SECONDS = 1.5  # renewals every 0.5 s
    e = request(researcher, videos[0], model)
    owner = claims.worker_identity("keeper")
    claims.claim(e.pk, owner)
    first_lease = Explanation.objects.get(pk=e.pk).lease_expires_at
    keeper = LeaseKeeper([e.pk], owner)
    keeper.set_counter(SimpleNamespace(fraction=0.5))
    keeper.start()
    try:
        deadline = timezone.now() + timedelta(seconds=10)
        while Explanation.objects.get(pk=e.pk).progress != 0.5 and timezone.now() < deadline:
            keeper.join(0.1)
    finally:
        keeper.stop()
    row = Explanation.objects.get(pk=e.pk)
    assert row.progress == 0.5 and row.lease_expires_at > first_lease
    assert keeper.lost == set()
