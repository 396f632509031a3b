"""ASGI entry point: what the web server runs (gunicorn with uvicorn workers, see ``manage.py up``).

Why ASGI: Django's ASGI handler receives the request body on the event loop (spooled to a
temporary file beyond 2.5 MB) before it hands the request to a thread. A client that declares a
large body and sends it slowly, or never, costs a coroutine and a socket, not one of the few
threads that run views, so slow clients cannot starve the others (``/healthz`` keeps answering).

Because the body is read before any view sees it, ``BodyLimit`` refuses a body larger than the
largest upload (``VIDEO_UPLOAD_MAX_BYTES`` plus the multipart envelope) before reading it when its
``Content-Length`` says so, and as soon as a body without one (chunked) grows past it.
"""

from __future__ import annotations

import json
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wherewhen.settings")
# Tells the settings that this process is the ASGI web tier: its PostgreSQL connections come
# from a bounded pool (see ``DATABASES`` in the settings).
os.environ.setdefault("WHEREWHEN_WEB_TIER", "asgi")

django_application = get_asgi_application()


class BodyLimit:
    """ASGI middleware: 413 for request bodies over ``max_bytes``."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        state = {"received": 0, "over": False, "started": False}

        async def limited_receive():
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["over"] = True
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def tracked_send(message):
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, limited_receive, tracked_send)
        if state["over"] and not state["started"]:
            await self._refuse(send)

    async def _refuse(self, send) -> None:
        from wherewhen.videos.views import human_bytes

        body = json.dumps(
            {
                "detail": f"The request body is larger than the limit of {human_bytes(self.max_bytes)}."
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _max_body() -> int:
    from django.conf import settings

    from wherewhen.videos.uploads import MULTIPART_SLACK_BYTES

    return settings.VIDEO_UPLOAD_MAX_BYTES + MULTIPART_SLACK_BYTES


application = BodyLimit(django_application, _max_body())
