"""The video library's business logic: ingest, processing, permissions, deletion.

Files: everything about one video lives in the media folder ``videos/<owner id>/<sha256>/``
of the media storage (:mod:`wherewhen.core.media`: ``MEDIA_ROOT`` or an object store):
(``original.<ext>``, ``playback.mp4``, ``poster.jpg``, ``sprite.jpg``, and ``waveform.json``
when the video has sound). The folder name comes
from the content hash, never from the uploaded name, so names with spaces, accents or path
tricks never reach the file system; the name is kept in ``Video.original_name``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse

from wherewhen.accounts.access import is_researcher, reviews, sees_all
from wherewhen.core import media, tasking
from wherewhen.core.exceptions import Invalid
from wherewhen.videos.models import Dataset, Video
from workers.video import VideoError, probe, require_video
from workers.video.ingest import (
    PLAYBACK_NAME,
    POSTER_NAME,
    SPRITE_NAME,
    WAVEFORM_NAME,
    process_video,
)
from workers.video.transcode import remove_partial_outputs

logger = logging.getLogger(__name__)

HASH_CHUNK = 1024 * 1024
#: Extensions worth importing from a folder (anything else there is skipped).
VIDEO_EXTENSIONS = {
    ".3gp", ".avi", ".flv", ".m2ts", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg", ".mts",
    ".mxf", ".ogv", ".ts", ".webm", ".wmv", ".y4m",
}  # fmt: skip


class VideoRejected(Invalid):
    """The file cannot join the library; ``str(exc)`` tells the person why (the API answers
    400 with ``{"detail": message}``)."""

    def __init__(self, message: str) -> None:
        super().__init__({"detail": message})


@dataclass
class IngestOutcome:
    video: Video
    created: bool


# --- paths ------------------------------------------------------------------------------------


def playback_url(video: Video, request=None) -> str | None:
    """Where the browser plays the video (the library's ranged stream of the playback file);
    absolute when ``request`` is given, None until the video is ready."""
    if video.status != Video.Status.READY or not video.playback:
        return None
    try:
        path = reverse("video-stream", kwargs={"pk": video.pk})
    except NoReverseMatch:
        return None
    return request.build_absolute_uri(path) if request is not None else path


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def safe_extension(name: str) -> str:
    """The name's extension if it is short and plain (``.mp4``), else ``.bin``."""
    suffix = Path(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".bin"


def title_from_name(name: str) -> str:
    stem = Path(name).stem.strip() or name.strip() or "Untitled video"
    return stem[:255]


# --- permissions ------------------------------------------------------------------------------

ViewHook = Callable[[object, Video], bool]
_view_hooks: list[ViewHook] = []


def register_view_hook(hook: ViewHook) -> ViewHook:
    """Let another app grant viewing (e.g. annotators through their assignments)."""
    if hook not in _view_hooks:
        _view_hooks.append(hook)
    return hook


def can_browse_library(user) -> bool:
    """Researchers and reviewers browse the library (the role rule of ``accounts.access``)."""
    return reviews(user)


def user_can_view(user, video: Video) -> bool:
    """Owners, reviewers and admins see a video; registered hooks may let others see it."""
    if not user or not user.is_authenticated:
        return False
    if sees_all(user) or video.owner_id == user.id:
        return True
    return any(hook(user, video) for hook in _view_hooks)


def user_can_change(user, video: Video) -> bool:
    """Only the owner (or an admin) renames, reprocesses or deletes a video."""
    return bool(user and user.is_authenticated and (user.is_superuser or video.owner_id == user.id))


def visible_videos(user) -> QuerySet[Video]:
    """The library as ``user`` browses it: reviewers and admins see all, researchers their own."""
    videos = Video.objects.select_related("owner").prefetch_related("datasets")
    if sees_all(user):
        return videos
    if is_researcher(user):
        return videos.filter(owner=user)
    return videos.none()


def search_videos(
    videos: QuerySet[Video],
    *,
    search: str = "",
    label: str = "",
    status: str = "",
    split: str = "",
    dataset: str = "",
) -> QuerySet[Video]:
    if search:
        words = search.split()
        for word in words:
            videos = videos.filter(
                Q(title__icontains=word)
                | Q(original_name__icontains=word)
                | Q(label__icontains=word)
            )
    if label:
        videos = videos.filter(label=label)
    if status:
        videos = videos.filter(status=status)
    if split:
        videos = videos.filter(split=split)
    if dataset:
        videos = videos.filter(datasets__name=dataset)
    return videos.distinct() if dataset else videos


# --- ingest -----------------------------------------------------------------------------------


def check_is_video(path: Path) -> dict:
    """Fast header check (no decoding): refuse at once what is plainly not a playable video."""
    try:
        info = probe(path)
        require_video(info, settings.VIDEO_MAX_DIMENSION, settings.VIDEO_MAX_PIXELS)
    except VideoError as exc:
        raise VideoRejected(str(exc)) from exc
    return info.to_dict()


def _dataset(owner, name: str | None) -> Dataset | None:
    if not name:
        return None
    dataset, _ = Dataset.objects.get_or_create(owner=owner, name=name.strip()[:200])
    return dataset


def ingest_file(
    *,
    owner,
    path: str | Path,
    original_name: str,
    title: str = "",
    label: str = "",
    split: str = "",
    dataset: str | None = None,
    move: bool = False,
    sha256: str | None = None,
    process: str = "queue",
) -> IngestOutcome:
    """Add the file at ``path`` to ``owner``'s library, or return the video it duplicates.

    ``move`` takes the file (an upload's temporary file); otherwise it is copied (an import).
    ``process``: ``"queue"`` sends the media task after commit, ``"now"`` runs it here,
    ``"none"`` leaves the video uploaded. Raises :class:`VideoRejected` for files that are
    empty or plainly not videos; nothing is left behind then.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise VideoRejected(f"There is no file at {path}.") from exc
    if size == 0:
        raise VideoRejected("The file is empty (0 bytes).")
    digest = sha256 or sha256_file(path)

    existing = Video.objects.filter(owner=owner, content_hash=digest).first()
    if existing:
        _join_dataset(existing, owner, dataset)
        return IngestOutcome(existing, created=False)

    source_info = check_is_video(path)
    video = Video(
        owner=owner,
        title=(title or title_from_name(original_name))[:255],
        original_name=original_name[:255],
        label=label[:200],
        split=split[:20],
        content_hash=digest,
        size_bytes=size,
        source_info=source_info,
    )
    video.original.name = f"{video.folder}/original{safe_extension(original_name)}"

    # Store the bytes first (a copy or an upload to the object store can take long; the name
    # is content-addressed, so a concurrent upload of the same bytes writes the same file),
    # then create the row in one short transaction.
    try:
        media.put_file(video.original.name, path, move=move)
        with transaction.atomic():
            video.save()
            _join_dataset(video, owner, dataset)
            if process == "queue":
                transaction.on_commit(lambda: enqueue_processing(video.pk))
    except IntegrityError:
        # The same content arrived concurrently; that upload won (its file is these bytes).
        existing = Video.objects.get(owner=owner, content_hash=digest)
        return IngestOutcome(existing, created=False)
    except BaseException:
        if move:
            path.unlink(missing_ok=True)
        if not Video.objects.filter(owner=owner, content_hash=digest).exists():
            media.delete_folder(video.folder)
        raise
    if process == "now":
        run_processing(video.pk)
        video.refresh_from_db()
    return IngestOutcome(video, created=True)


def _join_dataset(video: Video, owner, name: str | None) -> None:
    dataset = _dataset(owner, name)
    if dataset:
        video.datasets.add(dataset)


def enqueue_processing(video_id: int) -> None:
    """Send the media task by name (the web process never imports worker code paths)."""
    try:
        tasking.send(tasking.VIDEO_PROCESS, args=[video_id])
    except tasking.QueueUnavailable as exc:  # the video stays "uploaded", with the reason
        logger.exception("could not queue processing of video %s", video_id)
        Video.objects.filter(pk=video_id, status=Video.Status.UPLOADED).update(
            error=f"Waiting to be processed: the task queue could not be reached ({exc})."
        )


def request_reprocessing(video: Video) -> Video:
    """Start processing again (after a failure, or to rebuild the derived files)."""
    Video.objects.filter(pk=video.pk).update(status=Video.Status.UPLOADED, error="", progress=0.0)
    transaction.on_commit(lambda: enqueue_processing(video.pk))
    video.refresh_from_db()
    return video


# --- processing (runs in the media worker) ----------------------------------------------------


class _VideoDeleted(Exception):
    pass


def run_processing(video_id: int, *, force: bool = False) -> str:
    """Probe, transcode and index one video; idempotent. Returns the final status (or "missing").

    A video that is already ready (with its files) is left alone unless ``force``. A re-run over
    a half-processed folder (a worker killed mid-way) starts over and replaces every output.
    A video deleted while it is being processed leaves no files behind.
    """
    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        return "missing"
    if video.status == Video.Status.READY and not force and _outputs_exist(video):
        return video.status
    Video.objects.filter(pk=video_id).update(status=Video.Status.PROCESSING, progress=0.0, error="")
    last = {"time": 0.0, "value": -1.0}

    def progress(value: float) -> None:
        now = time.monotonic()
        if value < 1.0 and now - last["time"] < 0.5 and value - last["value"] < 0.05:
            return
        last.update(time=now, value=value)
        if not Video.objects.filter(pk=video_id).update(progress=round(value, 3)):
            raise _VideoDeleted()

    try:
        result, playback_sha256 = _process_files(video, progress)
    except _VideoDeleted:
        _remove_folder_if_orphan(video)
        return "missing"
    except VideoError as exc:
        return _fail(video, str(exc))
    except Exception as exc:
        logger.exception("processing video %s failed", video_id)
        return _fail(
            video,
            f"Processing stopped on an unexpected error ({type(exc).__name__}: {exc}). "
            "Try again; if it fails again, the file is probably unusual or damaged.",
        )

    source_info = dict(video.source_info or {})
    source_info.update(result.source.to_dict())
    if result.playback_plan is not None:
        source_info["playback"] = result.playback_plan.to_dict()
    # The playback file's content hash keys workers' cached copies (core.media.local_copy).
    source_info.setdefault("playback", {})["sha256"] = playback_sha256
    if result.audio_error:
        logger.warning("video %s: %s", video_id, result.audio_error)
    updated = Video.objects.filter(pk=video_id).update(
        status=Video.Status.READY,
        error="",
        progress=1.0,
        duration=result.duration,
        fps=result.fps,
        variable_frame_rate=result.variable_frame_rate,
        frame_count=result.frame_count,
        width=result.width,
        height=result.height,
        rotation=result.source.rotation,
        video_codec=result.source.video_codec[:50],
        audio_codec=result.source.audio_codec[:50],
        has_audio=result.has_audio,
        audio_error=result.audio_error[:2000],
        playback=f"{video.folder}/{PLAYBACK_NAME}",
        poster=f"{video.folder}/{POSTER_NAME}",
        sprite=f"{video.folder}/{SPRITE_NAME}",
        waveform=f"{video.folder}/{WAVEFORM_NAME}" if result.waveform else "",
        sprite_meta=result.sprite_meta,
        frame_timestamps=[round(float(t), 6) for t in result.timestamps],
        source_info=source_info,
    )
    if not updated:
        _remove_folder_if_orphan(video)
        return "missing"
    return Video.Status.READY


def _process_files(video: Video, progress: Callable[[float], None]):
    """Run ``workers.video.process_video`` on a local copy of the original, into a local output
    folder whose files are then stored; returns (result, SHA-256 of the playback file)."""
    if not media.exists(video.original.name):
        raise VideoError("The uploaded file is missing from storage; upload it again.")
    with (
        media.local_copy(video.original.name, video.content_hash) as source,
        media.output_folder(video.folder) as out,
    ):
        result = process_video(
            source,
            out,
            max_dimension=settings.VIDEO_MAX_DIMENSION,
            max_pixels=settings.VIDEO_MAX_PIXELS,
            progress=progress,
        )
        names = [PLAYBACK_NAME, POSTER_NAME, SPRITE_NAME]
        if result.waveform:
            names.append(WAVEFORM_NAME)
        media.publish(out, video.folder, names)
        return result, sha256_file(out / PLAYBACK_NAME)


def playback_sha256(video: Video) -> str:
    """The recorded content hash of the playback file ("" for videos processed before it was
    recorded)."""
    return str(((video.source_info or {}).get("playback") or {}).get("sha256") or "")


def local_file(video: Video):
    """``with local_file(video) as path``: the playback file (else the original) as a local
    path, for decoders and trackers (a cached copy when media live in an object store)."""
    if video.playback:
        return media.local_copy(video.playback.name, playback_sha256(video))
    return media.local_copy(video.original.name, video.content_hash)


def _outputs_exist(video: Video) -> bool:
    fields = [video.playback, video.poster, video.sprite]
    if video.has_audio and not video.audio_error:
        fields.append(video.waveform)  # videos processed before waveforms existed get one
    return all(field.name and media.exists(field.name) for field in fields)


def _fail(video: Video, reason: str) -> str:
    source_info = {k: v for k, v in (video.source_info or {}).items() if k != "playback"}
    for name in (PLAYBACK_NAME, POSTER_NAME, SPRITE_NAME, WAVEFORM_NAME):
        media.delete(f"{video.folder}/{name}")
    if media.is_local():
        with media.output_folder(video.folder) as folder:
            remove_partial_outputs(folder)
    updated = Video.objects.filter(pk=video.pk).update(
        status=Video.Status.FAILED,
        error=reason[:2000],
        progress=0.0,
        playback="",
        poster="",
        sprite="",
        waveform="",
        audio_error="",
        sprite_meta={},
        frame_timestamps=[],
        source_info=source_info,
    )
    if not updated:
        _remove_folder_if_orphan(video)
        return "missing"
    return Video.Status.FAILED


def _remove_folder_if_orphan(video: Video) -> None:
    if not Video.objects.filter(owner_id=video.owner_id, content_hash=video.content_hash).exists():
        media.delete_folder(video.folder)


# --- deletion ---------------------------------------------------------------------------------


def delete_video(video: Video) -> None:
    """Delete the row and, once that is committed, every file of the video."""
    with transaction.atomic():
        video.delete()


def remove_files_after_delete(sender, instance: Video, **kwargs) -> None:
    """``post_delete`` receiver: remove the video's folder once the deletion is committed."""
    transaction.on_commit(lambda: _remove_folder_if_orphan(instance))
