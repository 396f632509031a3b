"""One switch between the event loop and a thread per request, not one per middleware.

Under ASGI Django runs each middleware in the mode of the handler below it when it can. The
innermost handler is asynchronous, so Django's own middleware (sessions, CSRF, authentication,
messages, ...) run in async mode, and each of their ``process_request`` / ``process_response``
hooks hops to the request's thread and back; WhiteNoise and this project's throttle are
synchronous, so above them the chain is in the thread anyway. :class:`SyncChainMiddleware`,
last in ``MIDDLEWARE``, is synchronous: every middleware above it then runs in the request's
thread in one go, and the only hop left is the one into the view (a synchronous view runs in
the same thread; the asynchronous status long-poll runs on the event loop).
"""

from __future__ import annotations


class SyncChainMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
