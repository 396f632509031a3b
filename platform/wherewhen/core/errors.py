"""One error shape for the whole API: ``{"detail": "...", ...}`` with a 4xx a person understands.

The one place domain errors (:mod:`wherewhen.core.exceptions`, raised by services) become HTTP:
invalid 400, not allowed 403, not found 404, conflict 409, with ``detail`` as the body (a
message under ``"detail"``, or the field -> messages mapping as it is)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from wherewhen.core import exceptions as domain


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
    return drf_exception_handler(exc, context)


def _plain(exc: ParseError) -> str:
    text = str(exc.detail)
    if text.startswith("JSON parse error"):
        return "it is not valid JSON (" + text.split(" - ", 1)[-1] + ")."
    return text
