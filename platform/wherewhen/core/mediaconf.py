"""The ``STORAGES`` entry of the media storage, from its settings (``MEDIA_STORAGE`` and
``MEDIA_S3_*``, docs/architecture.md "Media storage"). Used by the settings module, and by
tests and benches that point the media at another store."""

from __future__ import annotations

from typing import Any


def media_backend(
    kind: str,
    *,
    bucket: str = "",
    endpoint_url: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str | None = None,
    addressing_style: str = "auto",
    prefix: str = "",
    presign_seconds: int = 300,
    multipart_bytes: int = 16 * 1024**2,
) -> dict[str, Any]:
    if kind == "local":
        # No "location": the storage follows MEDIA_ROOT (tests change it per test).
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"allow_overwrite": True},
        }
    from boto3.s3.transfer import TransferConfig

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "access_key": access_key,
            "secret_key": secret_key,
            "region_name": region,
            "addressing_style": addressing_style,
            "signature_version": "s3v4",
            "location": prefix,
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": presign_seconds,
            "max_memory_size": multipart_bytes,
            # Files over the threshold are uploaded in parts of that size, streamed from disk.
            # At most four parts in flight: memory stays near 4 x the part size.
            "transfer_config": TransferConfig(
                multipart_threshold=multipart_bytes,
                multipart_chunksize=multipart_bytes,
                max_concurrency=4,
            ),
        },
    }
