"""Account lockout with back-off, per (username, client address).

After ``LOGIN_LOCKOUT_FAILURES`` wrong passwords for one username from one address, that pair
is locked for ``LOGIN_LOCKOUT_SECONDS``; every further failure doubles the lock, up to
``LOGIN_LOCKOUT_MAX_SECONDS``. A successful login clears the count. While locked, no password is
checked at all (``LockoutBackend`` refuses before any other backend runs), so guessing on is
pointless. Keyed on the pair, a stranger cannot lock an owner out from another address; the
per-address throttle (``accounts.throttling``) bounds guessing across usernames.

Failures are counted from Django's ``user_login_failed`` signal, so the API login, the token
endpoint and the admin login all count, and the state lives in the shared cache.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from wherewhen.core.clientaddr import client_ip


def now() -> float:
    return time.time()


def _key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}\0{ip}".encode()).hexdigest()[:32]
    return f"lockout:{digest}"


def lock_seconds(failures: int) -> int:
    """How long ``failures`` consecutive failures lock the pair (0: not locked)."""
    over = failures - settings.LOGIN_LOCKOUT_FAILURES
    if settings.LOGIN_LOCKOUT_FAILURES <= 0 or over < 0:
        return 0
    base, cap = settings.LOGIN_LOCKOUT_SECONDS, settings.LOGIN_LOCKOUT_MAX_SECONDS
    return int(min(cap, base * 2 ** min(over, 32)))


def seconds_left(username: str | None, ip: str) -> int:
    """Seconds until ``username`` may try again from ``ip`` (0: now)."""
    if not username:
        return 0
    until = cache.get(_key(username, ip) + ":until")
    return max(0, int(until - now() + 0.999)) if until else 0


def record_failure(username: str, ip: str) -> int:
    """Count one failure; return the seconds the pair is now locked for."""
    key = _key(username, ip)
    memory = settings.LOGIN_LOCKOUT_MAX_SECONDS * 4  # forget old failures eventually
    cache.add(key + ":failures", 0, timeout=memory)
    try:
        failures = cache.incr(key + ":failures")
    except ValueError:
        cache.set(key + ":failures", 1, timeout=memory)
        failures = 1
    seconds = lock_seconds(failures)
    if seconds:
        cache.set(key + ":until", now() + seconds, timeout=seconds + 1)
    return seconds


def clear(username: str, ip: str) -> None:
    key = _key(username, ip)
    cache.delete_many([key + ":failures", key + ":until"])


class LockoutBackend:
    """First in ``AUTHENTICATION_BACKENDS``: refuses a locked pair before any password check.

    It has no ``get_user``: it never signs anyone in, so sessions (and ``force_login``) name
    the backend that did."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and seconds_left(username, client_ip(request)):
            request_locked(request)
            raise PermissionDenied("locked out")
        return None


def request_locked(request) -> None:
    # The DRF request wraps Django's; mark the one middleware sees.
    target = getattr(request, "_request", request)
    target.wherewhen_locked_out = True


@receiver(user_login_failed, dispatch_uid="wherewhen-lockout-failed")
def _on_failure(sender, credentials, request=None, **kwargs):
    username = credentials.get("username")
    if request is None or not username:
        return
    ip = client_ip(request)
    if getattr(getattr(request, "_request", request), "wherewhen_locked_out", False):
        return  # refused while locked: not a password guess, the lock stays as it is
    record_failure(username, ip)


@receiver(user_logged_in, dispatch_uid="wherewhen-lockout-success")
def _on_success(sender, request, user, **kwargs):
    if request is not None:
        clear(user.get_username(), client_ip(request))
