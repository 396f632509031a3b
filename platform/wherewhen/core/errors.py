"""One error shape for the whole API: ``{"detail": "...", ...}`` with a 4xx a person understands."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
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
