"""One error shape for the whole API: ``{"detail": "...", ...}`` with a status a person understands.

- DRF views: ``exception_handler``, the one place domain errors (:mod:`wherewhen.core.exceptions`,
  raised by services) become HTTP: invalid 400, not allowed 403, not found 404, conflict 409,
  with ``detail`` as the body (a message under ``"detail"``, or the field -> messages mapping as
  it is); also Django validation errors → 400, parser errors in plain words, a deletion blocked
  by rows that still use the object → 409.
- Everything else under ``/api/``: ``handler404`` and ``handler500`` answer JSON too (plain
  Django views such as the video streams, unknown API paths, unexpected errors); a request that
  waited in vain for a pooled database connection gets 503 with ``Retry-After`` instead of 500.
- ``RejectNulMiddleware``: a NUL character in the path or the query string → 400 before any
  view runs (PostgreSQL cannot compare text with it, so a filter would fail).
"""

from __future__ import annotations

import sys

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from wherewhen.core import exceptions as domain

SERVER_ERROR = "Something went wrong on the server; the error was logged. Please try again later."
NOT_FOUND = "Not found."
DATABASE_BUSY = "The server is busy right now; please try again in a few seconds."
NUL_IN_URL = "The address contains a NUL character (%00), which no parameter may hold."


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = domain.Conflict.default_detail
    default_code = "conflict"


def to_api_exception(exc: domain.DomainError) -> exceptions.APIException:
    """The DRF exception of a domain error (the same status and body everywhere)."""
    if isinstance(exc, domain.Invalid):
        return exceptions.ValidationError(exc.detail)
    if isinstance(exc, domain.NotAllowed):
        return exceptions.PermissionDenied(exc.detail)
    if isinstance(exc, domain.NotFound):
        return exceptions.NotFound(exc.detail)
    if isinstance(exc, domain.Conflict):
        return ConflictError(exc.detail)
    return exceptions.ValidationError(exc.detail)


def exception_handler(exc, context):
    if isinstance(exc, domain.DomainError):
        exc = to_api_exception(exc)
    if isinstance(exc, DjangoValidationError):
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(messages, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ParseError):
        # DRF's text leaks parser internals ("JSON parse error - Expecting value: line 1...").
        return Response(
            {"detail": f"The request body could not be read: {_plain(exc)}"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response({"detail": in_use_message(exc)}, status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(exc, context)


def in_use_message(exc: ProtectedError | RestrictedError) -> str:
    """'This cannot be deleted while other records use it (2 stimuli). ...'"""
    protected = isinstance(exc, ProtectedError)
    blocking = exc.protected_objects if protected else exc.restricted_objects
    counts: dict[str, int] = {}
    for obj in blocking:
        meta = obj._meta
        counts[meta.label] = counts.get(meta.label, 0) + 1
    used_by = ", ".join(f"{n} {_verbose(label, n)}" for label, n in sorted(counts.items()))
    return f"This cannot be deleted while other records use it ({used_by}). Remove those first."


def _verbose(label: str, n: int) -> str:
    from django.apps import apps

    meta = apps.get_model(label)._meta
    return str(meta.verbose_name if n == 1 else meta.verbose_name_plural)


def _plain(exc: ParseError) -> str:
    text = str(exc.detail)
    if text.startswith("JSON parse error"):
        return "it is not valid JSON (" + text.split(" - ", 1)[-1] + ")."
    return text


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def handler404(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": NOT_FOUND}, status=404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if _database_busy(sys.exc_info()[1]):
        # Every pooled database connection of this web process stayed taken for the pool's
        # whole timeout (a burst): nothing went wrong, the client should just ask again.
        headers = {"Retry-After": "2"}
        if _is_api(request):
            return JsonResponse({"detail": DATABASE_BUSY}, status=503, headers=headers)
        return HttpResponse(DATABASE_BUSY, status=503, headers=headers, content_type="text/plain")
    if _is_api(request):
        return JsonResponse({"detail": SERVER_ERROR}, status=500)
    return defaults.server_error(request)


def _database_busy(exc: BaseException | None) -> bool:
    """Whether ``exc`` comes from waiting in vain for a pooled database connection."""
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg-pool is a dependency
        return False
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, PoolTimeout):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return JsonResponse({"detail": NUL_IN_URL}, status=400)
        return self.get_response(request)
