"""Platform-wide endpoints: health, the API root, and the single-page app."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from wherewhen.core import health


@require_GET
@never_cache
def healthz(request):
    """JSON health report: 200 when the database, the broker and every queue are live, else 503."""
    report = health.report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


# Resources the API root lists; domain apps add theirs to this list in their urls module.
API_ROOT_LINKS: dict[str, str] = {
    "auth-login": "auth-login",
    "auth-logout": "auth-logout",
    "auth-me": "auth-me",
    "auth-token": "auth-token",
    "schema": "schema",
    "docs": "docs",
}


class ApiRootView(APIView):
    """The entry point of API version 1: links to every resource."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="API root: links to every resource",
        responses=inline_serializer(
            "ApiRoot",
            {
                "version": serializers.CharField(),
                "links": serializers.DictField(child=serializers.URLField()),
            },
        ),
    )
    def get(self, request, format=None):
        links = {name: reverse(url, request=request) for name, url in API_ROOT_LINKS.items()}
        links["health"] = request.build_absolute_uri("/healthz")
        return Response({"version": "v1", "links": links})


@never_cache
@ensure_csrf_cookie
def spa(request, path: str = ""):
    """Serve the built frontend for every browser route; the app routes on the client."""
    index = settings.FRONTEND_DIST / "index.html"
    if not index.exists():
        return HttpResponse(
            "The frontend is not built yet. Run `make run` (or `npm --prefix frontend run build`).",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
