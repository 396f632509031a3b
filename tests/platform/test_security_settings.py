"""The security settings block: CSP on every response, HSTS and secure cookies behind HTTPS,
proxy trust for the scheme only when asked for."""

from __future__ import annotations

import re

import pytest

from wherewhen.core.security import DEFAULT_CSP, security_settings


def test_defaults_suit_plain_http():
    values = security_settings({})
    assert values["CONTENT_SECURITY_POLICY"] == DEFAULT_CSP
    assert values["SESSION_COOKIE_SECURE"] is False and values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0 and values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["SESSION_COOKIE_HTTPONLY"] is True and values["X_FRAME_OPTIONS"] == "DENY"


def test_https_only_turns_on_the_https_settings():
    values = security_settings({"HTTPS_ONLY": "1"})
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    # Each can still be set on its own.
    values = security_settings({"HTTPS_ONLY": "1", "SECURE_HSTS_SECONDS": "600"})
    assert values["SECURE_HSTS_SECONDS"] == 600


def test_proxy_scheme_and_csp_from_the_environment():
    values = security_settings(
        {"TRUST_FORWARDED_PROTO": "yes", "CONTENT_SECURITY_POLICY": "default-src 'none'"}
    )
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert values["CONTENT_SECURITY_POLICY"] == "default-src 'none'"
    assert security_settings({"CONTENT_SECURITY_POLICY": "off"})["CONTENT_SECURITY_POLICY"] == ""


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/", "/healthz", "/admin/login/", "/api/docs/"])
def test_every_response_carries_the_policy(client, path):
    response = client.get(path)
    assert response["Content-Security-Policy"] == DEFAULT_CSP
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_api_docs_have_no_inline_script(client):
    html = client.get("/api/docs/").content.decode()
    inline = [s for s in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S) if s[1].strip()]
    assert inline == [], inline


@pytest.mark.django_db
def test_hsts_and_secure_cookies_when_configured(client, settings, django_user_model):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = True
    user = django_user_model.objects.create_user("rita", password="s3cret-pass!")
    client.force_login(user)
    response = client.get("/api/v1/auth/me/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert client.cookies["sessionid"]["secure"]


def test_media_redirects_to_an_object_store_are_allowed_by_the_csp():
    minio = {
        "MEDIA_STORAGE": "s3",
        "MEDIA_S3_BUCKET": "media",
        "MEDIA_S3_ENDPOINT_URL": "http://minio:9000",
        "MEDIA_S3_PUBLIC_ENDPOINT_URL": "http://localhost:9000/",
        "MEDIA_S3_ADDRESSING_STYLE": "path",
    }
    csp = security_settings(minio)["CONTENT_SECURITY_POLICY"]
    assert "media-src 'self' blob: http://localhost:9000;" in csp
    assert "img-src 'self' data: blob: http://localhost:9000;" in csp
    assert "minio:9000" not in csp and "connect-src 'self';" in csp
    aws = security_settings(
        {"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": "media", "MEDIA_S3_REGION": "eu-west-1"}
    )["CONTENT_SECURITY_POLICY"]
    assert "https://media.s3.eu-west-1.amazonaws.com" in aws
    given = security_settings({**minio, "MEDIA_CSP_SOURCES": "https://cdn.example"})
    assert "media-src 'self' blob: https://cdn.example;" in given["CONTENT_SECURITY_POLICY"]
    # Proxied media, the local disk, or a policy of one's own: nothing is added.
    for extra in ({"MEDIA_STREAM_MODE": "proxy"}, {"MEDIA_STORAGE": "local"}):
        assert security_settings({**minio, **extra})["CONTENT_SECURITY_POLICY"] == DEFAULT_CSP
    own = {**minio, "CONTENT_SECURITY_POLICY": "default-src 'none'"}
    assert security_settings(own)["CONTENT_SECURITY_POLICY"] == "default-src 'none'"
