"""Streaming video uploads: request body -> temporary file on disk, hashed on the way.

The handler replaces Django's default upload handlers for the upload endpoint. Chunks go
straight to a temporary file in the media layer's staging folder (``MEDIA_ROOT/.uploads``
with the local storage, the same file system as the library, so accepting the file is a rename;
``MEDIA_CACHE_DIR/.uploads`` with an object store, streamed into it from there) while a SHA-256 is computed, so no upload is ever held in
memory whole. A request whose declared length exceeds ``VIDEO_UPLOAD_MAX_BYTES`` is refused
before its body is read; one that grows past it while streaming is stopped there. A body that
ends before its closing multipart boundary (a client cut off half-way) is discarded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from wherewhen.core import media

#: Room for the multipart framing and small form fields around the file itself.
MULTIPART_SLACK_BYTES = 1024 * 1024
UPLOAD_FIELD = "file"


def upload_tmp_dir() -> Path:
    return media.staging_dir("uploads")


class HashedUpload(UploadedFile):
    """An uploaded file already on disk, with its SHA-256 and size."""

    def __init__(self, path: Path, name: str, size: int, sha256: str, content_type: str | None):
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.path = path
        self.sha256 = sha256

    def temporary_file_path(self) -> str:
        return str(self.path)

    def open(self, mode: str = "rb"):  # noqa: A003 - Django's File API
        self.file = open(self.path, mode)  # noqa: SIM115 - closed by the caller
        return self

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class VideoUploadHandler(FileUploadHandler):
    chunk_size = 1024 * 1024

    def __init__(self, request=None, max_bytes: int | None = None):
        super().__init__(request)
        self.max_bytes = settings.VIDEO_UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
        self.too_large = False
        self.interrupted = False
        self.extra_files = False
        self.path: Path | None = None
        self.file = None
        self.size = 0
        self._hash = hashlib.sha256()

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + MULTIPART_SLACK_BYTES:
            self.too_large = True
            # Claim the request as parsed (empty) so that nothing reads the body.
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def new_file(
        self,
        field_name,
        file_name,
        content_type,
        content_length,
        charset=None,
        content_type_extra=None,
    ):
        super().new_file(
            field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        if field_name != UPLOAD_FIELD or self.path is not None:
            self.extra_files = True
            raise SkipFile()
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=upload_tmp_dir())
        self.path = Path(name)
        self.file = os.fdopen(fd, "wb")

    def receive_data_chunk(self, raw_data, start):
        if self.file is None or self.file.closed:
            return None
        self.size += len(raw_data)
        if self.size > self.max_bytes:
            self.too_large = True
            self.discard()
            raise StopUpload(connection_reset=True)
        self.file.write(raw_data)
        self._hash.update(raw_data)
        return None

    def file_complete(self, file_size):
        if self.file is None or self.path is None or self.file.closed:
            return None
        self.file.close()
        return HashedUpload(
            self.path, self.file_name, self.size, self._hash.hexdigest(), self.content_type
        )

    def upload_interrupted(self):
        self.interrupted = True
        self.discard()

    def discard(self) -> None:
        """Close and delete the temporary file (safe to call more than once)."""
        if self.file is not None and not self.file.closed:
            self.file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
