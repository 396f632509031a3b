"""An S3 endpoint for tests and benches: moto's standalone server (``moto_server``), a test
double that speaks the S3 HTTP protocol. Never a deployment."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


@dataclass
class S3Endpoint:
    url: str
    bucket: str

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def env(self) -> dict[str, str]:
        """The environment that points a process's media at this endpoint."""
        return {
            "MEDIA_STORAGE": "s3",
            "MEDIA_S3_BUCKET": self.bucket,
            "MEDIA_S3_ENDPOINT_URL": self.url,
            "MEDIA_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "MEDIA_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "MEDIA_S3_REGION": REGION,
            "MEDIA_S3_ADDRESSING_STYLE": "path",
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_server_exe() -> str | None:
    beside = Path(sys.executable).with_name("moto_server")
    return str(beside) if beside.exists() else shutil.which("moto_server")


@contextlib.contextmanager
def moto_endpoint(bucket: str = "wherewhen-media", host: str = "127.0.0.1") -> Iterator[S3Endpoint]:
    """Start ``moto_server`` on a free port (its own process, so its memory is not ours), create
    ``bucket``, yield the endpoint, stop the server."""
    exe = moto_server_exe()
    if exe is None:
        raise RuntimeError("moto_server is not installed (pip install 'moto[server]')")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "-H", host, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        endpoint = S3Endpoint(url, bucket)
        endpoint.client().create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def media_settings(endpoint: S3Endpoint, cache_dir: Path, **overrides) -> dict:
    """The settings that point a process's media storage at ``endpoint`` (for
    ``override_settings`` or pytest-django's ``settings``; Django resets the storages when
    ``STORAGES`` changes)."""
    from django.conf import settings

    from wherewhen.core.mediaconf import media_backend

    backend = media_backend(
        "s3",
        bucket=endpoint.bucket,
        endpoint_url=endpoint.url,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        addressing_style="path",
        prefix=overrides.pop("prefix", ""),
        presign_seconds=settings.MEDIA_PRESIGN_SECONDS,
        multipart_bytes=overrides.pop("multipart_bytes", 16 * 1024**2),
    )
    return {
        "MEDIA_STORAGE": "s3",
        "MEDIA_S3_BUCKET": endpoint.bucket,
        "MEDIA_S3_ENDPOINT_URL": endpoint.url,
        "MEDIA_S3_PUBLIC_ENDPOINT_URL": None,
        "MEDIA_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "MEDIA_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "MEDIA_S3_REGION": REGION,
        "MEDIA_S3_ADDRESSING_STYLE": "path",
        "MEDIA_CACHE_DIR": Path(cache_dir),
        "MEDIA_STREAM_MODE": overrides.pop("stream_mode", "redirect"),
        "STORAGES": {**settings.STORAGES, "default": backend, "media": backend},
        **overrides,
    }


def use_endpoint(settings, endpoint: S3Endpoint, cache_dir: Path, **overrides) -> None:
    """Point this test's media storage at ``endpoint`` (pytest-django's ``settings``)."""
    for name, value in media_settings(endpoint, cache_dir, **overrides).items():
        setattr(settings, name, value)
