"""One gate in front of every endpoint that checks a password.

``CredentialThrottleMiddleware`` runs before authentication, sessions and CSRF, so nothing a
client sends (a valid token, a session cookie, a forged ``X-Forwarded-For``) lets it skip the
count. For each POST to one of ``CREDENTIAL_PATHS`` it

1. counts the attempt against the client address (``core.clientaddr.client_ip``) in a window
   shared by every web process (``core.ratelimit``): over ``LOGIN_THROTTLE_RATE`` → 429;
2. refuses a (username, address) pair that is locked out (``accounts.lockout``) → 429.

Both answers are JSON with ``Retry-After``.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

from wherewhen.accounts import lockout
from wherewhen.core.clientaddr import client_ip
from wherewhen.core.ratelimit import Rate, hit

TOO_MANY_ATTEMPTS = "Too many sign-in attempts from this address. Try again in {} seconds."
LOCKED_OUT = "Too many wrong passwords for this account from this address. Try again in {} seconds."


def too_many(message: str, seconds: int) -> JsonResponse:
    response = JsonResponse({"detail": message.format(seconds)}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def posted_username(request) -> str | None:
    """The username a credential POST carries (form or JSON), without failing on bad input."""
    try:
        if request.content_type == "application/json":
            data = json.loads(request.body or b"{}")
            value = data.get("username") if isinstance(data, dict) else None
        else:
            value = request.POST.get("username")
    except (ValueError, RequestDataTooBig):
        return None
    return value if isinstance(value, str) else None


class CredentialThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path_info in settings.CREDENTIAL_PATHS:
            refused = self.check(request)
            if refused is not None:
                return refused
        response = self.get_response(request)
        if getattr(request, "wherewhen_locked_out", False):
            # The lock began while this request was on its way (another process counted it).
            username = posted_username(request)
            left = lockout.seconds_left(username, client_ip(request)) or 1
            return too_many(LOCKED_OUT, left)
        return response

    def check(self, request) -> JsonResponse | None:
        ip = client_ip(request)
        rate = Rate.parse(settings.LOGIN_THROTTLE_RATE)
        count, retry_after = hit("credentials", ip, rate)
        if count > rate.limit:
            return too_many(TOO_MANY_ATTEMPTS, retry_after)
        left = lockout.seconds_left(posted_username(request), ip)
        if left:
            return too_many(LOCKED_OUT, left)
        return None
