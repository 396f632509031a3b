"""Sign-in limits: throttling keyed on the real client address, shared by every process, and
account lockout with back-off, on every endpoint that checks a password."""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import (
    ROOT,
    database_url_for_test_db,
    free_port,
    missing_service,
    redis_reachable,
)
from wherewhen.accounts import lockout
from wherewhen.accounts.models import Role, User
from wherewhen.core import ratelimit
from wherewhen.core.clientaddr import client_ip
from wherewhen.core.ratelimit import Rate

PASSWORD = "s3cret-pass!"


@pytest.fixture(autouse=True)
def _still_clock(monkeypatch):
    """Counting windows do not roll over in the middle of a test."""
    monkeypatch.setattr(ratelimit, "now", lambda: 1_000_040.0)  # 20 s into a minute


@pytest.fixture
def rita(db):
    return User.objects.create_user("rita", password=PASSWORD, role=Role.RESEARCHER)


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


# --- Client address -------------------------------------------------------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request("203.0.113.5", "1.2.3.4")) == "203.0.113.5"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("203.0.113.5", "10.0.0.9, 1.2.3.4")) == "203.0.113.5"


def test_trusted_proxy_chain_is_read_from_the_right(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
    # The client wrote "6.6.6.6" itself; the proxies appended what they saw.
    request = _request("10.0.0.2", "6.6.6.6, 198.51.100.7, 192.0.2.1")
    assert client_ip(request) == "198.51.100.7"
    assert client_ip(_request("10.0.0.2", "garbage, 198.51.100.7")) == "198.51.100.7"
    assert client_ip(_request("10.0.0.2", "")) == "10.0.0.2"
    assert client_ip(_request("10.0.0.2", "[2001:db8::1]:443")) == "2001:db8::1"


def test_rate_parsing():
    assert Rate.parse("60/min") == Rate(60, 60)
    assert Rate.parse("5/10s") == Rate(5, 10)
    with pytest.raises(ValueError):
        Rate.parse("lots")


# --- Throttle -------------------------------------------------------------------------------


def _login(client, path="/api/v1/auth/login/", password="wrong", **extra):
    return client.post(path, {"username": "rita", "password": password}, format="json", **extra)


def test_spoofed_forwarded_for_does_not_reset_the_count(settings, rita):
    settings.LOGIN_THROTTLE_RATE = "3/min"
    settings.LOGIN_LOCKOUT_FAILURES = 0
    client = APIClient()
    statuses = [
        _login(client, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"10.9.8.{i}").status_code
        for i in range(5)
    ]
    assert statuses == [400, 400, 400, 429, 429]
    refused = _login(client, REMOTE_ADDR="203.0.113.5", password=PASSWORD)
    assert refused.status_code == 429
    assert "Too many sign-in attempts" in refused.json()["detail"]
    assert refused["Retry-After"] == "40"  # to the end of the one-minute window
    # Another address has its own count.
    assert _login(client, REMOTE_ADDR="203.0.113.6", password=PASSWORD).status_code == 200


def test_clients_behind_a_trusted_proxy_are_counted_apart(settings, rita):
    settings.LOGIN_THROTTLE_RATE = "2/min"
    settings.LOGIN_LOCKOUT_FAILURES = 0
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    client = APIClient()

    def attempt(chain):
        return _login(client, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=chain).status_code

    # One client rotating a forged first entry is still one client.
    assert [attempt(f"7.7.7.{i}, 198.51.100.7") for i in range(3)] == [400, 400, 429]
    assert attempt("198.51.100.8") == 400


def test_a_valid_token_does_not_skip_the_login_throttle(settings, rita):
    settings.LOGIN_THROTTLE_RATE = "2/min"
    settings.LOGIN_LOCKOUT_FAILURES = 0
    token = Token.objects.create(user=rita)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    statuses = [_login(client).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_login_token_and_admin_share_one_count(settings, rita):
    settings.LOGIN_THROTTLE_RATE = "3/min"
    settings.LOGIN_LOCKOUT_FAILURES = 0
    client = APIClient()
    assert _login(client).status_code == 400
    assert _login(client, path="/api/v1/auth/token/").status_code == 400
    admin = client.post("/admin/login/", {"username": "rita", "password": "wrong"})
    assert admin.status_code == 200  # the form again, with its error
    refused = client.post("/admin/login/", {"username": "rita", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"


# --- Lockout --------------------------------------------------------------------------------


def test_lockout_after_failures_with_back_off(settings, rita, monkeypatch):
    settings.LOGIN_THROTTLE_RATE = "1000/min"
    settings.LOGIN_LOCKOUT_FAILURES = 3
    settings.LOGIN_LOCKOUT_SECONDS = 60
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 600
    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(lockout, "now", lambda: clock["now"])
    client = APIClient()
    assert [_login(client).status_code for _ in range(3)] == [400, 400, 400]

    locked = _login(client, password=PASSWORD)
    assert locked.status_code == 429
    assert "wrong passwords for this account" in locked.json()["detail"]
    assert locked["Retry-After"] == "60"
    # The lock is per (username, address): the owner elsewhere is not locked out.
    assert _login(APIClient(), password=PASSWORD, REMOTE_ADDR="198.51.100.1").status_code == 200

    clock["now"] += 61
    assert _login(client).status_code == 400  # one more failure: locked twice as long
    assert _login(client, password=PASSWORD)["Retry-After"] == "120"
    clock["now"] += 121
    assert _login(client, password=PASSWORD).status_code == 200
    assert lockout.seconds_left("rita", "127.0.0.1") == 0
    assert _login(client).status_code == 400  # a success forgot the earlier failures


def test_back_off_is_capped(settings):
    settings.LOGIN_LOCKOUT_FAILURES = 5
    settings.LOGIN_LOCKOUT_SECONDS = 60
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 3600
    assert [lockout.lock_seconds(n) for n in (4, 5, 6, 7)] == [0, 60, 120, 240]
    assert lockout.lock_seconds(500) == 3600


def test_admin_login_locks_out_too(settings, rita):
    settings.LOGIN_THROTTLE_RATE = "1000/min"
    settings.LOGIN_LOCKOUT_FAILURES = 2
    rita.is_staff = rita.is_superuser = True
    rita.save()
    client = APIClient()
    for _ in range(2):
        client.post("/admin/login/", {"username": "rita", "password": "wrong"})
    refused = client.post("/admin/login/", {"username": "rita", "password": PASSWORD})
    assert refused.status_code == 429
    assert _login(client, path="/api/v1/auth/token/", password=PASSWORD).status_code == 429


def test_token_endpoint_counts_failures(settings, rita):
    settings.LOGIN_THROTTLE_RATE = "1000/min"
    settings.LOGIN_LOCKOUT_FAILURES = 2
    client = APIClient()
    assert [_login(client, path="/api/v1/auth/token/").status_code for _ in range(3)] == [
        400,
        400,
        429,
    ]


# --- Several processes ----------------------------------------------------------------------


def _post(url: str, forwarded: str) -> int:
    body = json.dumps({"username": "rita", "password": "wrong"}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("cache", ["database", "redis"])
def test_processes_share_one_count(transactional_db, tmp_path, cache, settings):
    """Three gunicorn processes, 40 attempts with forged headers at once: exactly 10 pass."""
    from django.core.management import call_command

    User.objects.create_user("rita", password=PASSWORD, role=Role.RESEARCHER)
    settings.CACHES = {
        "default": {"BACKEND": "wherewhen.core.cache.DatabaseCache", "LOCATION": "wherewhen_cache"}
    }
    call_command("createcachetable", verbosity=0)  # the test database's, whatever CACHE_URL is
    from tests.conftest import TEST_REDIS_URL

    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
        DATABASE_URL=database_url_for_test_db(),
        WHEREWHEN_VAR_DIR=str(tmp_path),
        SECRET_KEY="test-secret-key-for-web-processes-only",
        LOGIN_THROTTLE_RATE="10/day",
        LOGIN_LOCKOUT_FAILURES="0",
        CACHE_KEY_PREFIX=f"test-{os.getpid()}-{time.monotonic_ns()}",
        CACHE_URL="db",
    )
    if cache == "redis":
        if not redis_reachable():
            missing_service(f"Redis is not reachable at {TEST_REDIS_URL}")
        env["CACHE_URL"] = TEST_REDIS_URL
    if 86400 - time.time() % 86400 < 120:  # the daily window would roll over mid-test
        time.sleep(86400 - time.time() % 86400 + 1)
    port = free_port()
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115 - handed to the child process
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wherewhen.wsgi:application"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "3", "--threads", "4"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        url = f"http://127.0.0.1:{port}/api/v1/auth/token/"
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/", timeout=60).close()
                break
            except OSError:  # not listening yet
                if time.monotonic() > deadline or web.poll() is not None:
                    raise AssertionError((tmp_path / "web.log").read_text()[-4000:]) from None
                time.sleep(0.3)
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda i: _post(url, f"10.1.2.{i}"), range(40)))
        assert statuses.count(400) == 10, (statuses, (tmp_path / "web.log").read_text()[-3000:])
        assert statuses.count(429) == 30, statuses
    finally:
        web.terminate()
        web.wait(timeout=30)
