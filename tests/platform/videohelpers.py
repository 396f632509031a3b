"""Helpers shared by the video library's platform tests."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from rest_framework.test import APIClient

from wherewhen.accounts.models import Role, User

LIST_URL = "/api/v1/videos/"


def make_user(username: str, role: str = Role.RESEARCHER) -> User:
    """A user without a password (tests log in with force_login: no slow password hashing)."""
    return User.objects.create_user(username, role=role)


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def upload(client: APIClient, path: Path, name: str | None = None, **fields):
    with open(path, "rb") as handle:
        from django.core.files.uploadedfile import SimpleUploadedFile

        data = {"file": SimpleUploadedFile(name or path.name, handle.read()), **fields}
    return client.post(LIST_URL, data, format="multipart")


def media_files() -> list[Path]:
    """Every file under MEDIA_ROOT (temporary uploads included)."""
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file())


def record_enqueued(monkeypatch) -> list[int]:
    """Record (instead of sending) the media tasks the web process would enqueue."""
    from wherewhen.videos import services

    sent: list[int] = []
    monkeypatch.setattr(services, "enqueue_processing", sent.append)
    return sent
