"""Serving files with HTTP range requests, the way browsers' <video> elements need.

``Accept-Ranges: bytes``; one ``Range: bytes=a-b`` / ``a-`` / ``-n`` answered with 206 and
``Content-Range``; an unsatisfiable range with 416 and ``Content-Range: bytes */size``;
``ETag``/``Last-Modified`` with ``If-None-Match``/``If-Modified-Since`` (304) and ``If-Range``.
Several ranges in one request are legal to ignore: the whole file is sent (200). Bodies are
streamed from disk in chunks.

:func:`media_response` serves a stored media file the same way: from the file with the local
storage; with an object store either a 302 to a short-lived presigned URL (the store answers
the ranges) or, with ``MEDIA_STREAM_MODE=proxy``, the same ranged answers read range by range
from the store.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils.http import http_date, parse_http_date_safe, quote_etag

from wherewhen.core import media

CHUNK = 256 * 1024
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """The one byte range ``(first, last)`` of ``header``; None to ignore it; "unsatisfiable"."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip() or "," in spec:
        return None
    match = _RANGE.match(spec)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first_text, last_text = match.group(1), match.group(2)
    if not first_text:  # suffix: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # syntactically invalid: ignore the header
    if first >= size:
        return "unsatisfiable"
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    candidates = [tag.strip() for tag in header.split(",")]
    plain = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == plain for tag in candidates)


def ranged_file_response(
    request: HttpRequest,
    path: Path,
    content_type: str,
    *,
    etag_seed: str = "",
    filename: str | None = None,
    cache_seconds: int = 3600,
) -> HttpResponse:
    """A response for ``path`` honouring ``Range`` and conditional request headers."""
    stat = os.stat(path)
    return ranged_response(
        request,
        size=stat.st_size,
        modified=stat.st_mtime,
        etag=f"{etag_seed}{stat.st_mtime_ns:x}-{stat.st_size:x}",
        read=lambda start, length: _read(path, start, length),
        content_type=content_type,
        filename=filename,
        cache_seconds=cache_seconds,
    )


def media_response(
    request: HttpRequest,
    name: str,
    content_type: str,
    *,
    etag_seed: str = "",
    filename: str | None = None,
    cache_seconds: int = 3600,
    redirect: bool = True,
) -> HttpResponse:
    """Serve the stored media file ``name`` (the caller has checked permission and that it
    exists): ranged from the file, a presigned redirect, or ranges proxied from the store.
    ``redirect=False`` always proxies (a blinded study must not reveal the object's name).
    A file gone since the caller looked answers 404."""
    try:
        return _media_response(
            request, name, content_type, etag_seed, filename, cache_seconds, redirect
        )
    except media.MediaMissing:
        return JsonResponse({"detail": "The file is missing from storage."}, status=404)


def _media_response(request, name, content_type, etag_seed, filename, cache_seconds, redirect):
    if media.is_local():
        with media.local_copy(name) as path:
            return ranged_file_response(
                request,
                path,
                content_type,
                etag_seed=etag_seed,
                filename=filename,
                cache_seconds=cache_seconds,
            )
    if redirect and settings.MEDIA_STREAM_MODE == "redirect":
        url = media.presigned_url(name, content_type=content_type, filename=filename or "")
        response = HttpResponseRedirect(url)
        # The URL expires: never keep the redirect itself.
        response["Cache-Control"] = "private, no-store"
        return response
    info = media.stat(name)
    return ranged_response(
        request,
        size=info.size,
        modified=info.modified.timestamp(),
        etag=f"{etag_seed}{info.etag}",
        read=lambda start, length: media.read_range(name, start, length),
        content_type=content_type,
        filename=filename,
        cache_seconds=cache_seconds,
    )


def ranged_response(
    request: HttpRequest,
    *,
    size: int,
    modified: float,
    etag: str,
    read: Callable[[int, int], Iterator[bytes]],
    content_type: str,
    filename: str | None = None,
    cache_seconds: int = 3600,
) -> HttpResponse:
    """The answer for a file of ``size`` bytes whose byte ranges ``read(start, length)``
    yields, honouring ``Range`` and conditional request headers."""
    etag = quote_etag(etag)
    last_modified = http_date(modified)

    def headers(response: HttpResponse) -> HttpResponse:
        response["Accept-Ranges"] = "bytes"
        response["ETag"] = etag
        response["Last-Modified"] = last_modified
        # Permission-checked content: browsers may keep it, shared caches must not.
        response["Cache-Control"] = f"private, max-age={cache_seconds}"
        response["X-Content-Type-Options"] = "nosniff"
        if filename:
            from django.utils.encoding import escape_uri_path

            ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'")
            response["Content-Disposition"] = (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{escape_uri_path(filename)}"
            )
        return response

    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if _etag_matches(if_none_match, etag):
            return headers(HttpResponse(status=304))
    else:
        since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
        if since is not None and int(modified) <= since:
            return headers(HttpResponse(status=304))

    byte_range = None
    range_header = request.headers.get("Range")
    if range_header and request.method in ("GET", "HEAD"):
        if_range = request.headers.get("If-Range")
        if if_range is None or if_range.strip() in (etag, last_modified):
            byte_range = parse_range(range_header, size)
    if byte_range == "unsatisfiable":
        response = headers(HttpResponse(status=416, content_type="text/plain; charset=utf-8"))
        response["Content-Range"] = f"bytes */{size}"
        return response

    if byte_range is None:
        start, length, status = 0, size, 200
    else:
        first, last = byte_range
        start, length, status = first, last - first + 1, 206
    body = iter(()) if request.method == "HEAD" else read(start, length)
    response = headers(StreamingHttpResponse(body, status=status, content_type=content_type))
    response["Content-Length"] = str(length)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    return response
