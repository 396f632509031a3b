"""The media storage layer: every read, write and delete of a media file goes through here.

Media (originals, playback files, posters, sprites, waveforms, maps, exports) are named by
storage names relative to the media root (``videos/<owner>/<sha256>/playback.mp4``,
``explanations/maps/ab/<key>.npy``) and kept by Django's storage ``storages["media"]`` (the same
backend as ``default_storage``):

* ``MEDIA_STORAGE=local`` (the default): ``FileSystemStorage`` on ``MEDIA_ROOT``, today's layout.
  Writes go to a temporary name in the target folder and are renamed into place.
* ``MEDIA_STORAGE=s3``: django-storages' ``S3Storage`` on any S3-compatible store. Uploads of
  large files are multipart and streamed from disk; a worker that needs a local file (ffmpeg,
  PyAV, trackers) gets a copy from its content-addressed cache (:mod:`workers.mediacache`).

No other module builds a media path by hand: they ask for :func:`local_copy` (read a file as a
local path), :func:`output_folder` (a local folder whose files :func:`publish` stores), or the
byte-level helpers below.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import storages

log = logging.getLogger(__name__)
CHUNK = 256 * 1024


class MediaMissing(FileNotFoundError):
    """The storage has no file by that name."""


@dataclass(frozen=True)
class MediaStat:
    size: int
    modified: datetime
    etag: str


def storage():
    return storages["media"]


def is_local() -> bool:
    return settings.MEDIA_STORAGE == "local"


def local_root() -> Path:
    """The folder of the local storage (``MEDIA_ROOT``); only meaningful when :func:`is_local`."""
    return Path(settings.MEDIA_ROOT)


def local_path(name: str) -> Path:
    """The file behind ``name`` in the local storage (:class:`MediaMissing` for names outside
    the media root). Only for the local storage; callers that need a file use
    :func:`local_copy`."""
    try:
        return Path(storage().path(name))
    except SuspiciousFileOperation as exc:
        raise MediaMissing(f"{name!r} is outside the media storage") from exc


def _key(name: str) -> str:
    return storage()._normalize_name(name)  # the object key, with the configured prefix


def _client():
    return storage().connection.meta.client


def _missing(exc: Exception) -> bool:
    """Whether a botocore ``ClientError`` says the key does not exist (other errors, such as
    a store that is down, are not "missing" and propagate)."""
    error = getattr(exc, "response", {}) or {}
    code = str(error.get("Error", {}).get("Code", ""))
    status = error.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or code in ("404", "NoSuchKey", "NotFound")


# --- reading ----------------------------------------------------------------------------------


def exists(name: str) -> bool:
    if not name:
        return False
    if is_local():
        try:
            return local_path(name).is_file()
        except MediaMissing:
            return False
    return storage().exists(name)


def stat(name: str) -> MediaStat:
    """Size, modification time and an entity tag of ``name`` (:class:`MediaMissing` if none)."""
    if is_local():
        try:
            st = os.stat(local_path(name))
        except FileNotFoundError as exc:
            raise MediaMissing(name) from exc
        modified = datetime.fromtimestamp(st.st_mtime, UTC)
        return MediaStat(st.st_size, modified, f"{st.st_mtime_ns:x}-{st.st_size:x}")
    from botocore.exceptions import ClientError

    try:
        head = _client().head_object(Bucket=storage().bucket_name, Key=_key(name))
    except ClientError as exc:
        if _missing(exc):
            raise MediaMissing(name) from exc
        raise
    return MediaStat(int(head["ContentLength"]), head["LastModified"], head["ETag"].strip('"'))


def read_bytes(name: str) -> bytes:
    try:
        with storage().open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError as exc:  # S3Storage too turns a 404 into FileNotFoundError
        raise MediaMissing(name) from exc


def read_range(name: str, start: int, length: int) -> Iterator[bytes]:
    """The bytes ``start .. start + length - 1`` of ``name``, in chunks (a ranged GET on S3)."""
    if length <= 0:
        return
    if is_local():
        with open(local_path(name), "rb") as handle:
            handle.seek(start)
            remaining = length
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        return
    answer = _client().get_object(
        Bucket=storage().bucket_name,
        Key=_key(name),
        Range=f"bytes={start}-{start + length - 1}",
    )
    body = answer["Body"]
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def download(name: str, handle) -> None:
    """Write the stored ``name`` into the open binary file ``handle`` (streamed)."""
    if is_local():
        with open(local_path(name), "rb") as src:
            shutil.copyfileobj(src, handle, CHUNK)
        return
    from botocore.exceptions import ClientError

    try:
        _client().download_fileobj(storage().bucket_name, _key(name), handle)
    except ClientError as exc:
        if _missing(exc):
            raise MediaMissing(name) from exc
        raise


def _cache():
    from workers.mediacache import ContentCache

    return ContentCache(settings.MEDIA_CACHE_DIR, settings.MEDIA_CACHE_MAX_BYTES)


@contextlib.contextmanager
def local_copy(name: str, sha256: str = "") -> Iterator[Path]:
    """A local path holding the stored ``name`` for as long as the ``with`` block runs.

    Local storage: the file itself. Object store: the worker's cached copy, keyed by ``sha256``
    (the content hash, checked after download) or, when the hash is unknown, by a hash of the
    name, size and entity tag (a changed object gets a new key).
    """
    if not name:
        raise MediaMissing("no file")
    if is_local():
        path = local_path(name)
        if not path.is_file():
            raise MediaMissing(name)
        yield path
        return
    if sha256:
        key, verify = sha256, True
    else:
        info = stat(name)
        key = hashlib.sha256(f"{name}\n{info.size}\n{info.etag}".encode()).hexdigest()
        verify = False
    suffix = Path(name).suffix if len(Path(name).suffix) <= 9 else ""
    with _cache().use(
        key, lambda handle: download(name, handle), suffix=suffix, verify=verify
    ) as p:
        yield p


# --- writing ----------------------------------------------------------------------------------


def put_file(name: str, source: str | Path, *, move: bool = False) -> None:
    """Store the local file ``source`` as ``name``, replacing what was there, atomically for
    readers. ``move`` lets a local storage take the file by renaming it. Streamed (multipart
    on an object store), never read whole into memory."""
    source = Path(source)
    if is_local():
        final = local_path(name)
        final.parent.mkdir(parents=True, exist_ok=True)
        if move:
            try:
                os.chmod(source, 0o644)
                os.replace(source, final)
                return
            except OSError:  # another file system: copy below
                pass
        fd, tmp = tempfile.mkstemp(prefix=".tmp-put-", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if move:
            source.unlink(missing_ok=True)
        return
    # boto3's upload_file reads each part from disk when it is sent (a file object would be
    # buffered part by part in memory; a whole-file read never happens either way).
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    _client().upload_file(
        str(source),
        storage().bucket_name,
        _key(name),
        ExtraArgs={"ContentType": content_type},
        Config=storage().transfer_config,
    )
    if move:
        source.unlink(missing_ok=True)


def put_bytes(name: str, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(prefix=".tmp-put-", dir=_scratch_dir(), delete=False) as tmp:
        tmp.write(data)
    put_file(name, tmp.name, move=True)


def _scratch_dir() -> Path:
    """A local folder for temporary files on their way into the storage (same file system as
    the local storage, so the final move is a rename)."""
    folder = local_root() / ".tmp" if is_local() else Path(settings.MEDIA_CACHE_DIR) / ".work"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def scratch_file(name: str, tag: str) -> Path:
    """A local path for a file being made that will be stored as ``name``: next to it with the
    local storage (``.<stem>.<tag><suffix>``, so storing it is a rename), else in the scratch
    folder."""
    stem, suffix = Path(name).stem, Path(name).suffix
    if is_local():
        final = local_path(name)
        final.parent.mkdir(parents=True, exist_ok=True)
        return final.with_name(f".{stem}.{tag}{suffix}")
    return _scratch_dir() / f".{stem}.{tag}{suffix}"


def staging_dir(kind: str) -> Path:
    """A local folder for files arriving before they join the storage (``"uploads"``): inside
    ``MEDIA_ROOT`` for the local storage, so taking them is a rename."""
    folder = (
        local_root() / f".{kind}" if is_local() else Path(settings.MEDIA_CACHE_DIR) / f".{kind}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def output_folder(folder: str) -> Iterator[Path]:
    """A local folder where a worker writes the files of the media folder ``folder``.

    Local storage: the media folder itself (outputs are written in place, atomically, by the
    caller). Object store: a fresh temporary folder, removed afterwards; store its files with
    :func:`publish` before leaving the block.
    """
    if is_local():
        path = local_path(folder)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="out-", dir=_scratch_dir()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def publish(local_folder: Path, folder: str, names: list[str]) -> None:
    """Store ``local_folder/<name>`` as ``folder/<name>`` for each name (no-op where the local
    folder is the media folder itself)."""
    if is_local() and local_path(folder) == Path(local_folder):
        return
    for file_name in names:
        put_file(f"{folder}/{file_name}", Path(local_folder) / file_name)


def ensure_bucket() -> bool:
    """Create the object store's bucket when it does not exist yet (True when created); the
    local storage needs nothing."""
    if is_local():
        return False
    from botocore.exceptions import ClientError

    bucket = storage().bucket_name
    try:
        _client().head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) not in ("404", "NoSuchBucket"):
            raise
    region = settings.MEDIA_S3_REGION
    extra = {}
    if region and region not in ("us-east-1", "auto"):
        extra["CreateBucketConfiguration"] = {"LocationConstraint": region}
    _client().create_bucket(Bucket=bucket, **extra)
    return True


# --- deleting ---------------------------------------------------------------------------------


def delete(name: str) -> None:
    """Delete ``name``; a file already gone is not an error."""
    if not name:
        return
    if is_local():
        with contextlib.suppress(FileNotFoundError, MediaMissing):
            local_path(name).unlink()
        return
    storage().delete(name)


def delete_folder(folder: str) -> None:
    """Delete every file whose name starts with ``folder/``."""
    folder = folder.strip("/")
    if not folder:
        raise ValueError("refusing to delete the whole media storage")
    if is_local():
        with contextlib.suppress(MediaMissing):
            shutil.rmtree(local_path(folder), ignore_errors=True)
        return
    prefix = _key(folder).rstrip("/") + "/"
    storage().bucket.objects.filter(Prefix=prefix).delete()


def names_under(folder: str) -> list[str]:
    """Every stored name under ``folder/`` (sorted), for checks and tests."""
    folder = folder.strip("/")
    if is_local():
        root = local_root()
        base = local_path(folder)
        return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file())
    prefix = _key(folder).rstrip("/") + "/"
    location = storage().location.strip("/")
    names = []
    for obj in storage().bucket.objects.filter(Prefix=prefix):
        key = obj.key
        names.append(key[len(location) + 1 :] if location else key)
    return sorted(names)


# --- serving ----------------------------------------------------------------------------------


def presigned_url(
    name: str, *, content_type: str = "", filename: str = "", seconds: int | None = None
) -> str:
    """A short-lived URL a browser can GET ``name`` from directly (object store only)."""
    params = {"Bucket": storage().bucket_name, "Key": _key(name)}
    if content_type:
        params["ResponseContentType"] = content_type
    if filename:
        from django.utils.encoding import escape_uri_path

        params["ResponseContentDisposition"] = (
            f"attachment; filename*=UTF-8''{escape_uri_path(filename)}"
        )
    client = _signing_client(
        settings.MEDIA_S3_PUBLIC_ENDPOINT_URL or settings.MEDIA_S3_ENDPOINT_URL,
        settings.MEDIA_S3_ACCESS_KEY_ID,
        settings.MEDIA_S3_SECRET_ACCESS_KEY,
        settings.MEDIA_S3_REGION,
        settings.MEDIA_S3_ADDRESSING_STYLE,
    )
    return client.generate_presigned_url(
        "get_object", Params=params, ExpiresIn=seconds or settings.MEDIA_PRESIGN_SECONDS
    )


@functools.lru_cache(maxsize=4)
def _signing_client(endpoint, access_key, secret_key, region, addressing_style):
    """A boto3 client for signing URLs with the endpoint browsers reach (made once: signing
    itself needs no request)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": addressing_style}),
    )
