"""The security settings block, read from the environment, and the CSP header.

``security_settings(environ)`` returns the Django settings (``settings.py`` applies them), so
the rules are tested without reloading settings. Defaults suit ``make run`` on plain HTTP;
behind HTTPS set ``HTTPS_ONLY=1`` (secure cookies, redirect to HTTPS, one year of HSTS), and
``TRUST_FORWARDED_PROTO=1`` when a proxy terminates TLS and always sets
``X-Forwarded-Proto``. See README ("Security settings") and docs/security.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The single-page app, the admin and the API docs use only their own origin. Inline styles
# stay allowed (React style attributes); inline scripts do not. Maps and thumbnails are drawn
# from blob:/data: URLs; the review player plays video from blob: URLs.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
OFF = {"0", "false", "no", "off", "none"}


def media_store_origins(environ: Mapping[str, str]) -> str:
    """The origins browsers load media from when the stream view redirects them to an object
    store (``MEDIA_STORAGE=s3``, ``MEDIA_STREAM_MODE=redirect``): ``MEDIA_CSP_SOURCES`` when
    given, else the public endpoint's origin (with the bucket's virtual host), else AWS S3's
    for the bucket. Empty otherwise: the platform serves media itself."""
    if environ.get("MEDIA_STORAGE", "local").strip().lower() != "s3":
        return ""
    if environ.get("MEDIA_STREAM_MODE", "redirect").strip().lower() != "redirect":
        return ""
    if environ.get("MEDIA_CSP_SOURCES", "").strip():
        return " ".join(environ["MEDIA_CSP_SOURCES"].replace(",", " ").split())
    from urllib.parse import urlsplit

    bucket = environ.get("MEDIA_S3_BUCKET", "").strip()
    endpoint = (
        environ.get("MEDIA_S3_PUBLIC_ENDPOINT_URL", "").strip()
        or environ.get("MEDIA_S3_ENDPOINT_URL", "").strip()
    )
    if endpoint:
        parts = urlsplit(endpoint)
        origins = [f"{parts.scheme}://{parts.netloc}"]
        if bucket and environ.get("MEDIA_S3_ADDRESSING_STYLE", "auto") != "path":
            origins.append(f"{parts.scheme}://{bucket}.{parts.netloc}")
        return " ".join(origins)
    region = environ.get("MEDIA_S3_REGION", "").strip() or "us-east-1"
    return " ".join(
        [
            f"https://{bucket}.s3.amazonaws.com",
            f"https://{bucket}.s3.{region}.amazonaws.com",
            f"https://s3.{region}.amazonaws.com",
        ]
    )


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    return value not in OFF


def security_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    https = _bool(environ, "HTTPS_ONLY", False)
    hsts_default = "31536000" if https else "0"
    csp = environ.get("CONTENT_SECURITY_POLICY", "").strip() or DEFAULT_CSP
    store = media_store_origins(environ)
    if store and csp == DEFAULT_CSP:  # <video> and <img> follow the stream redirects there
        csp = csp.replace("img-src 'self' data: blob:", f"img-src 'self' data: blob: {store}")
        csp = csp.replace("media-src 'self' blob:", f"media-src 'self' blob: {store}")
    values: dict[str, Any] = {
        "CONTENT_SECURITY_POLICY": "" if csp.lower() in OFF else csp,
        "SESSION_COOKIE_SECURE": _bool(environ, "SESSION_COOKIE_SECURE", https),
        "CSRF_COOKIE_SECURE": _bool(environ, "CSRF_COOKIE_SECURE", https),
        "SECURE_SSL_REDIRECT": _bool(environ, "SECURE_SSL_REDIRECT", https),
        "SECURE_HSTS_SECONDS": int(environ.get("SECURE_HSTS_SECONDS", "") or hsts_default),
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": _bool(environ, "SECURE_HSTS_INCLUDE_SUBDOMAINS", False),
        "SECURE_HSTS_PRELOAD": _bool(environ, "SECURE_HSTS_PRELOAD", False),
        "SECURE_PROXY_SSL_HEADER": (
            ("HTTP_X_FORWARDED_PROTO", "https")
            if _bool(environ, "TRUST_FORWARDED_PROTO", False)
            else None
        ),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
    }
    # /healthz answers plain HTTP probes from inside the network even when HTTPS is enforced.
    values["SECURE_REDIRECT_EXEMPT"] = [r"^healthz$"]
    return values


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` (``settings.CONTENT_SECURITY_POLICY``; empty: none)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
