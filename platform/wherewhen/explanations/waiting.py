"""``GET /api/v1/explanations/<id>/status/wait/``: the status, as soon as it changes (long-poll).

The browser asks with what it already knows (``?status=queued&progress=0.2``) and gets the
status body of ``.../status/`` back as soon as the status or progress differs, the explanation
is done or failed, or ``timeout`` seconds (default and at most ``EXPLANATION_WAIT_MAX_SECONDS``,
25) have passed; then it asks again. The plain status URL stays as it is (the fallback).

The view is a coroutine (the web tier is ASGI): the permission check and each read of the row
run the status view itself (the same authentication, role and visibility rules, answered the
same 401/403/404), briefly, and between reads the view awaits the worker's Redis notice
(:mod:`wherewhen.explanations.notify`) holding no database connection. The request's thread is
parked meanwhile, idle (the middleware chain is synchronous, ``core.chain``: Django runs it in
the request's thread and the view on the event loop; measured: 30 waits, 29 more threads in
the web process), which is why a process holds at most
``EXPLANATION_WAIT_MAX_STREAMS`` waits at once (beyond: 429 with ``Retry-After``, poll
instead). Only signed-in users wait: anyone else gets the status URL's 401/403/404 at once. A
client that goes away cancels its wait.
"""

from __future__ import annotations

import json
import math

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpResponse, JsonResponse

from wherewhen.explanations import conf, notify

_active = 0


def _status_view():
    from wherewhen.explanations.views import ExplanationViewSet

    return ExplanationViewSet.as_view({"get": "status_"})


def _read_status(request, pk: int) -> HttpResponse:
    try:
        response = _status_view()(request, pk=str(pk))
        response.render()
    finally:
        # A waiting client holds no database connection between reads either: the web tier's
        # connections come from a small pool (settings ``DATABASES``), and a long-poll lasts
        # up to 25 s.
        if not connection.in_atomic_block:
            connection.close()
    return response


def _number(request, name: str, low: float, high: float, default: float | None):
    raw = request.GET.get(name, "").strip()
    if raw == "":
        return default, None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        return None, JsonResponse(
            {name: [f"{name} must be a number from {low:g} to {high:g}."]}, status=400
        )
    return value, None


async def status_wait(request, pk: int) -> HttpResponse:
    global _active
    if request.method != "GET":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    longest = conf.wait_max_seconds()
    timeout, error = _number(request, "timeout", 0, longest, longest)
    if error is None:
        progress, error = _number(request, "progress", 0, 1, None)
    if error is not None:
        return error
    known = request.GET.get("status", "").strip() or None

    read = sync_to_async(_read_status)
    first = await read(request, pk)  # 401/403/404 exactly as the status URL answers them
    if first.status_code != 200:
        return first
    state = json.loads(first.content)
    if notify.changed(state, known, progress) or timeout == 0:
        return first
    if _active >= conf.wait_max_streams():
        return JsonResponse(
            {"detail": "Too many clients are waiting for results; poll the status URL instead."},
            status=429,
            headers={"Retry-After": "2"},
        )
    _active += 1
    try:

        async def again():
            response = await read(request, pk)
            if response.status_code != 200:  # deleted meanwhile, or access withdrawn
                raise _Stop(response)
            return json.loads(response.content)

        try:
            state = await notify.wait_for_change(pk, again, known, progress, timeout)
        except _Stop as stop:
            return stop.response
    finally:
        _active -= 1
    return JsonResponse(state)


class _Stop(Exception):
    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response
