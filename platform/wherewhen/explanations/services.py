"""Business logic of models and explanations (the web side: never imports torch).

Views call these functions; the gpu worker's side of the protocol (claiming, leases, results)
is in :mod:`wherewhen.explanations.claims`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from wherewhen.accounts.models import Role
from wherewhen.explanations import conf, methods, storage
from wherewhen.explanations.models import (
    BulkRun,
    Explanation,
    Export,
    Flag,
    RegisteredModel,
)
from wherewhen.explanations.sound import sound_hit
from wherewhen.videos import services as video_services
from wherewhen.videos.models import Dataset, Video
from workers.models.checkpoint_info import (
    CheckpointError,
    checkpoint_fingerprint,
    read_checkpoint_info,
)

log = logging.getLogger(__name__)

COMPUTE_TASK = "gpu.explanations.compute"
RENDER_TASK = "media.explanations.render_overlay"


class Conflict(Exception):
    """The request is valid but the thing it is about is not in a state that allows it."""


# --- Who may see and do what ------------------------------------------------------------------


def _is_reviewer(user) -> bool:
    return bool(user.is_superuser or user.role == Role.REVIEWER)


def can_request(user) -> bool:
    """Researchers and reviewers request explanations."""
    return bool(
        user.is_authenticated
        and (user.is_superuser or user.role in (Role.RESEARCHER, Role.REVIEWER))
    )


def user_can_view_video(user, video: Video) -> bool:
    """The video library's rule (owners, reviewers, admins, and what its hooks allow)."""
    return bool(video_services.user_can_view(user, video))


def visible_videos(user) -> QuerySet[Video]:
    return video_services.visible_videos(user)


def visible_models(user) -> QuerySet[RegisteredModel]:
    if not user.is_authenticated or not (
        user.is_superuser or user.role in (Role.RESEARCHER, Role.REVIEWER)
    ):
        return RegisteredModel.objects.none()
    if _is_reviewer(user):
        return RegisteredModel.objects.all()
    return RegisteredModel.objects.filter(Q(owner=user) | Q(public=True))


def can_edit_model(user, model: RegisteredModel) -> bool:
    return bool(user.is_superuser or (model.owner_id is not None and model.owner_id == user.pk))


def visible_explanations(user) -> QuerySet[Explanation]:
    if not user.is_authenticated:
        return Explanation.objects.none()
    if _is_reviewer(user):
        return Explanation.objects.all()
    if user.role != Role.RESEARCHER:
        return Explanation.objects.none()
    return Explanation.objects.filter(video__in=visible_videos(user))


# --- Model registry ---------------------------------------------------------------------------


def register_model(
    *,
    owner,
    name: str,
    checkpoint_dir: str,
    description: str = "",
    device: str = "auto",
    public: bool = False,
    bundled: bool = False,
) -> RegisteredModel:
    """Validate ``checkpoint_dir`` (without loading it) and register it under ``name``."""
    path = Path(str(checkpoint_dir)).expanduser()
    if not path.is_absolute():
        raise ValidationError({"checkpoint_dir": "Give the absolute path of the directory."})
    path = path.resolve()
    roots = [Path(r).expanduser().resolve() for r in conf.model_roots()]
    if roots and not any(path == root or root in path.parents for root in roots):
        raise ValidationError(
            {
                "checkpoint_dir": "Checkpoints can only be registered from the model folders of "
                f"this server: {', '.join(map(str, roots))}."
            }
        )
    try:
        architecture, spec, labels = read_checkpoint_info(path)
        fingerprint = checkpoint_fingerprint(path)
    except CheckpointError as exc:
        raise ValidationError(
            {"checkpoint_dir": f"This is not a usable checkpoint: {exc}"}
        ) from exc
    if RegisteredModel.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A model named {name!r} is already registered."})
    try:
        with transaction.atomic():
            return RegisteredModel.objects.create(
                owner=owner,
                name=name,
                description=description,
                architecture=architecture,
                checkpoint_dir=str(path),
                labels=labels,
                input_spec=spec.to_dict(),
                device=device,
                fingerprint=fingerprint,
                public=public,
                bundled=bundled,
            )
    except IntegrityError as exc:
        raise ValidationError({"name": f"A model named {name!r} is already registered."}) from exc


def delete_model(model: RegisteredModel) -> None:
    if model.explanations.exists() or model.bulk_runs.exists():
        raise Conflict(
            f"Model {model.name!r} has explanations; it cannot be deleted while they exist."
        )
    model.delete()


# --- Requesting explanations ------------------------------------------------------------------


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def request_key(
    *,
    video: Video,
    model: RegisteredModel,
    method: str,
    params: dict,
    target: int | None,
    clip: tuple[float | None, float | None],
) -> str:
    """The idempotency key: identical inputs give the same key, hence the same row."""
    return _digest(
        {
            "video": [video.content_hash, video.pk],
            "model": [model.pk, model.fingerprint],
            "method": method,
            "params": params,
            "target": target,
            "clip": list(clip),
        }
    )


def _check_video_ready(video: Video) -> None:
    if video.status != Video.Status.READY:
        raise Conflict(
            f"Video {video.title!r} is not ready yet (status: {video.status}); explanations "
            "can be requested once it has been processed."
        )
    if not (video.playback or video.original):
        raise Conflict(f"Video {video.title!r} has no file to explain.")


def no_sound_message(video: Video, model: RegisteredModel) -> str:
    return (
        f"Video {video.pk} ({video.title!r}) has no audio track; model {model.name!r} is "
        "audio-visual and needs sound."
    )


def _check_sound(video: Video, model: RegisteredModel) -> None:
    """An audio-visual model explains only videos whose playback file has sound."""
    if model.is_audio_visual and not video.has_audio:
        message = no_sound_message(video, model)
        if video.audio_error:
            message += f" {video.audio_error}"
        raise ValidationError({"video": message})


def _check_method_hears(method: str, model: RegisteredModel) -> None:
    """Not every method explains audio-visual models (the engine's ``audio_visual`` flag)."""
    spec = methods.METHODS.get(method)
    if model.is_audio_visual and spec is not None and not spec.audio_visual:
        usable = ", ".join(sorted(m.name for m in methods.METHODS.values() if m.audio_visual))
        raise ValidationError(
            {
                "method": f"Method {method!r} does not explain audio-visual models such as "
                f"{model.name!r} yet; methods that do: {usable}."
            }
        )


def _check_target(model: RegisteredModel | None, target: Any) -> int | None:
    if target is None:
        return None
    if isinstance(target, bool) or not isinstance(target, int):
        raise ValidationError({"target": "The target class must be a whole number (an index)."})
    if model is not None:
        n = len(model.labels)
        if not 0 <= target < n:
            raise ValidationError(
                {
                    "target": f"Class {target} is out of range: model {model.name!r} has {n} "
                    f"classes (0..{n - 1})."
                }
            )
    elif target < 0:
        raise ValidationError({"target": "The target class must be 0 or more."})
    return target


def _check_clip(video: Video, start: float | None, end: float | None) -> tuple:
    if start is None and end is None:
        return (None, None)
    duration = video.duration or 0.0
    start = 0.0 if start is None else float(start)
    end = duration if end is None else float(end)
    if not (0.0 <= start < end <= duration + 1e-6):
        raise ValidationError(
            {
                "clip": f"The clip must satisfy 0 <= start < end <= {duration:.3f} s (the video's "
                f"duration); got start={start}, end={end}."
            }
        )
    return (round(start, 6), round(end, 6))


QUEUE_UNREACHABLE = "Could not reach the task queue"


def _celery_app():
    from wherewhen.celery import app

    return app


def send_compute(explanation: Explanation) -> None:
    """Send the compute task for ``explanation`` now (raises when the broker cannot be reached)."""
    soft, hard = methods.time_limits(explanation.method)
    _celery_app().send_task(
        COMPUTE_TASK,
        args=[explanation.pk],
        task_id=explanation.task_id,
        soft_time_limit=soft,
        time_limit=hard,
    )


def enqueue_compute(explanation: Explanation) -> None:
    """Send the compute task for ``explanation`` once the current transaction commits."""
    pk = explanation.pk

    def send() -> None:
        try:
            send_compute(explanation)
        except Exception as exc:  # the broker is down: say so on the row, a new request retries
            log.exception("could not queue explanation %s", pk)
            Explanation.objects.filter(pk=pk, status=Explanation.Status.QUEUED).update(
                status=Explanation.Status.FAILED,
                error=f"{QUEUE_UNREACHABLE} ({exc.__class__.__name__}); request it again in a "
                "moment.",
                finished_at=timezone.now(),
            )

    transaction.on_commit(send)


@dataclass
class RequestOutcome:
    explanation: Explanation
    created: bool
    queued: bool  # a compute task was sent for this request


def request_explanation(
    user,
    *,
    video: Video,
    model: RegisteredModel,
    method: str,
    params: dict | None = None,
    target: int | None = None,
    clip_start: float | None = None,
    clip_end: float | None = None,
) -> RequestOutcome:
    """Find or create the explanation for these inputs and queue its computation.

    The same inputs always give the same row. A failed explanation, or one whose worker died
    (abandoned lease), is queued again; queued, running and done ones are returned as they are.
    """
    try:
        canonical = methods.canonical_params(method, params)
    except methods.ParamsError as exc:
        field = "method" if str(exc).startswith("Unknown method") else "params"
        raise ValidationError({field: str(exc)}) from exc
    _check_method_hears(method, model)
    _check_video_ready(video)
    _check_sound(video, model)
    target = _check_target(model, target)
    clip = _check_clip(video, clip_start, clip_end)
    key = request_key(
        video=video, model=model, method=method, params=canonical, target=target, clip=clip
    )
    now = timezone.now()
    with transaction.atomic():
        existing = Explanation.objects.select_for_update().filter(request_key=key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    explanation = Explanation.objects.create(
                        request_key=key,
                        video=video,
                        model=model,
                        method=method,
                        params=canonical,
                        params_hash=_digest(canonical),
                        target=target,
                        clip_start=clip[0],
                        clip_end=clip[1],
                        requested_by=user,
                        status=Explanation.Status.QUEUED,
                        task_id=str(uuid.uuid4()),
                        queued_at=now,
                    )
            except IntegrityError:
                explanation = None  # created concurrently by an identical request
            if explanation is not None:
                enqueue_compute(explanation)
                return RequestOutcome(explanation, created=True, queued=True)
            existing = Explanation.objects.select_for_update().get(request_key=key)
        if existing.status == Explanation.Status.FAILED or (
            existing.status == Explanation.Status.RUNNING
            and existing.lease_expires_at is not None
            and existing.lease_expires_at < now
        ):
            requeue(existing)
            return RequestOutcome(existing, created=False, queued=True)
        return RequestOutcome(existing, created=False, queued=False)


def requeue(explanation: Explanation) -> None:
    """Put a failed or abandoned explanation back in the queue (in the caller's transaction)."""
    explanation.status = Explanation.Status.QUEUED
    explanation.error = ""
    explanation.progress = 0.0
    explanation.claimed_by = ""
    explanation.lease_expires_at = None
    explanation.started_at = None
    explanation.finished_at = None
    explanation.task_id = str(uuid.uuid4())
    explanation.queued_at = timezone.now()
    explanation.save(
        update_fields=[
            "status",
            "error",
            "progress",
            "claimed_by",
            "lease_expires_at",
            "started_at",
            "finished_at",
            "task_id",
            "queued_at",
            "updated_at",
        ]
    )
    enqueue_compute(explanation)


# --- Status, results ----------------------------------------------------------------------------


def status_of(explanation: Explanation) -> dict[str, Any]:
    e = explanation
    return {
        "id": e.pk,
        "status": e.status,
        "progress": round(float(e.progress), 4),
        "error": e.error,
        "attempts": e.attempts,
        "queued_at": e.queued_at,
        "started_at": e.started_at,
        "finished_at": e.finished_at,
    }


def map_payload(explanation: Explanation) -> dict[str, Any]:
    """The map at token resolution as compact JSON (uint8 + scale/offset, base64)."""
    if explanation.status != Explanation.Status.DONE or not explanation.map_file:
        raise Conflict(
            f"Explanation {explanation.pk} has no map yet (status: {explanation.status})."
        )
    arr = storage.read_map(explanation.map_file)
    return storage.encode_map(arr)


# --- Imports ------------------------------------------------------------------------------------


def import_explanation(
    user,
    *,
    video: Video,
    upload,
    method: str,
    model: RegisteredModel | None = None,
    target: int | None = None,
) -> tuple[Explanation, bool]:
    """Validate an uploaded ``.npz`` and store it as an imported explanation.

    Returns ``(explanation, created)``; importing the same file for the same video again returns
    the first import.
    """
    from wherewhen.explanations import npz

    _check_video_ready(video)
    target = _check_target(model, target)
    method = (method or "").strip()
    if not method or len(method) > 64:
        raise ValidationError({"method": "Name the method that made this file (1-64 characters)."})
    data = npz.read_upload(upload, max_bytes=conf.import_max_bytes())
    imported = npz.validate(data.arrays, duration=float(video.duration or 0.0))
    if target is None:
        target = imported.target
        if target is not None and model is not None and not 0 <= target < len(model.labels):
            raise ValidationError(
                {"file": f"The file's target {target} is out of range for model {model.name!r}."}
            )
    key = _digest({"imported": [video.content_hash, video.pk, data.sha256, method, target]})
    existing = Explanation.objects.filter(request_key=key).first()
    if existing is not None:
        return existing, False
    map_file, sha = storage.write_map(key, imported.map)
    now = timezone.now()
    try:
        with transaction.atomic():
            explanation = Explanation.objects.create(
                request_key=key,
                video=video,
                model=model,
                method=method,
                params={"file_sha256": data.sha256, "ignored_keys": imported.ignored},
                params_hash=_digest({"imported": data.sha256}),
                target=target,
                source=Explanation.Source.IMPORTED,
                label=getattr(upload, "name", "")[:200],
                requested_by=user,
                status=Explanation.Status.DONE,
                progress=1.0,
                queued_at=now,
                started_at=now,
                finished_at=now,
                map_file=map_file,
                map_sha256=sha,
                grid=list(imported.map.shape),
                temporal=[float(x) for x in imported.temporal],
                timestamps=[float(x) for x in imported.timestamps],
                explained_target=target,
                topk=[],
                cost={},
                value_range=[float(imported.map.min()), float(imported.map.max())],
                audio=imported.audio_curve(),
            )
    except IntegrityError:
        return Explanation.objects.get(request_key=key), False
    return explanation, True


# --- Flags, exports -----------------------------------------------------------------------------


def add_flag(user, explanation: Explanation, *, reason: str, comment: str, time: float | None):
    return Flag.objects.create(
        explanation=explanation, author=user, reason=reason, comment=comment, time=time
    )


EXPORT_DEFAULTS = {"colormap": "jet", "opacity": 0.5, "threshold": 0.0}


def request_export(user, explanation: Explanation, *, kind: str, options: dict) -> tuple:
    """Find or create the export of ``explanation`` as ``kind`` with these render options."""
    from workers.overlay import COLORMAPS

    if explanation.status != Explanation.Status.DONE:
        raise Conflict(
            f"Explanation {explanation.pk} is not done yet (status: {explanation.status})."
        )
    opts = {**EXPORT_DEFAULTS, **(options or {})}
    unknown = sorted(set(opts) - set(EXPORT_DEFAULTS))
    if unknown:
        raise ValidationError({"options": f"Unknown option(s): {', '.join(unknown)}."})
    if opts["colormap"] not in COLORMAPS:
        raise ValidationError(
            {"options": f"colormap must be one of {', '.join(sorted(COLORMAPS))}."}
        )
    for name in ("opacity", "threshold"):
        v = opts[name]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
            raise ValidationError({"options": f"{name} must be a number from 0 to 1."})
        opts[name] = float(v)
    digest = _digest(opts)
    with transaction.atomic():
        export, created = Export.objects.get_or_create(
            explanation=explanation,
            kind=kind,
            options_hash=digest,
            defaults={"options": opts, "requested_by": user},
        )
        if not created and export.status == Export.Status.FAILED:
            export.status, export.error = Export.Status.QUEUED, ""
            export.save(update_fields=["status", "error"])
            created = True
        if created:
            pk = export.pk
            transaction.on_commit(lambda: _celery_app().send_task(RENDER_TASK, args=[pk]))
    return export, created


# --- Bulk runs ----------------------------------------------------------------------------------


def start_bulk_run(
    user,
    *,
    dataset: Dataset,
    model: RegisteredModel,
    method_names: list[str],
    params: dict | None = None,
    target: int | None = None,
) -> BulkRun:
    """Request every (ready video of ``dataset``) x (method) explanation as one followed job."""
    params = params or {}
    if not method_names:
        raise ValidationError({"methods": "Choose at least one method."})
    if len(set(method_names)) != len(method_names):
        raise ValidationError({"methods": "A method is listed twice."})
    for name in method_names:
        try:
            methods.canonical_params(name, params.get(name))
        except methods.ParamsError as exc:
            raise ValidationError(
                {"methods" if "Unknown method" in str(exc) else "params": str(exc)}
            ) from exc
        try:
            _check_method_hears(name, model)
        except ValidationError as exc:
            raise ValidationError({"methods": exc.message_dict["method"]}) from exc
    unknown = sorted(set(params) - set(method_names))
    if unknown:
        raise ValidationError(
            {"params": f"Parameters given for methods not in the run: {unknown}."}
        )
    target = _check_target(model, target)
    videos = list(visible_videos(user).filter(datasets=dataset).order_by("id"))
    if not videos:
        raise ValidationError({"dataset": f"Dataset {dataset.name!r} has no videos you can see."})
    with transaction.atomic():
        run = BulkRun.objects.create(
            owner=user,
            dataset=dataset,
            model=model,
            methods=list(method_names),
            params=params,
            target=target,
        )
        skipped = []
        ids = []
        for video in videos:
            if video.status != Video.Status.READY:
                skipped.append({"video": video.pk, "reason": f"not ready ({video.status})"})
                continue
            if model.is_audio_visual and not video.has_audio:
                skipped.append({"video": video.pk, "reason": "no audio track"})
                continue
            for name in method_names:
                outcome = request_explanation(
                    user,
                    video=video,
                    model=model,
                    method=name,
                    params=params.get(name),
                    target=target,
                )
                ids.append(outcome.explanation.pk)
        run.explanations.set(ids)
        run.skipped = skipped
        run.save(update_fields=["skipped"])
    return run


def bulk_progress(run: BulkRun, now=None) -> dict[str, Any]:
    """done/total, failures, and an ETA from the pace of the explanations this run finished:
    ``remaining x (time since the first of them started) / how many finished``, which accounts
    for batching and for several workers. Results that existed before the run set no pace."""
    now = now or timezone.now()
    counts = dict.fromkeys(Explanation.Status.values, 0)
    for status in run.explanations.values_list("status", flat=True):
        counts[status] += 1
    total = sum(counts.values())
    finished = counts["done"] + counts["failed"]
    remaining = total - finished
    eta = None
    if remaining == 0:
        eta = 0.0
    else:
        starts = list(
            run.explanations.filter(
                finished_at__gte=run.created_at, started_at__isnull=False
            ).values_list("started_at", flat=True)
        )
        if starts:
            elapsed = max((now - min(starts)).total_seconds(), 1e-3)
            eta = remaining * elapsed / len(starts)
    return {
        "total": total,
        "done": counts["done"],
        "failed": counts["failed"],
        "running": counts["running"],
        "queued": counts["queued"],
        "finished": finished,
        "fraction": (finished / total) if total else 1.0,
        "eta_seconds": None if eta is None else round(eta, 1),
        "state": "finished" if remaining == 0 else "running",
    }


def media_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def playback_url(video: Video, request=None) -> str | None:
    """Where the browser plays the video (the library's ranged stream of the playback file)."""
    if video.status != Video.Status.READY or not video.playback:
        return None
    try:
        path = reverse("video-stream", kwargs={"pk": video.pk})
    except NoReverseMatch:
        return None
    return request.build_absolute_uri(path) if request is not None else path


# --- Ground truth and pointing games ------------------------------------------------------------


def ground_truth(
    user, explanation: Explanation, *, project_id: int | None = None, tolerance: float | None = None
) -> dict[str, Any]:
    """Ground-truth boxes and "when" segments at the explanation's map frames, with the
    pointing-game hit or miss of each frame (``workers.metrics``: the one implementation)."""
    from workers.metrics import (
        DEFAULT_TOLERANCE,
        spatial_pointing_game,
        temporal_pointing_game,
    )

    tol = DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
    empty = {
        "available": False,
        "reason": "",
        "project": None,
        "source_size": None,
        "tolerance": tol,
        "frames": [],
        "segments": [],
        "temporal_hit": None,
        "sound_segments": [],
        "sound_hit": None,
        "spatial_accuracy": None,
    }
    if explanation.status != Explanation.Status.DONE:
        return {**empty, "reason": "The explanation is not done yet."}
    try:
        from wherewhen.annotations import services as annotation_services
        from wherewhen.annotations.models import Task
    except ImportError:
        return {**empty, "reason": "Annotations are not available on this server."}
    projects = annotation_services.projects_visible_to(user)
    tasks = Task.objects.filter(video=explanation.video, project__in=projects)
    if project_id is not None:
        tasks = tasks.filter(project_id=project_id)
    task = tasks.select_related("project").order_by("project_id").first()
    if task is None:
        return {**empty, "reason": "No annotation project you can see includes this video."}
    gt = annotation_services.ground_truth_for_video(task.project, explanation.video)
    gt_frames = gt.get("frames") or []
    segments = [list(map(float, s)) for s in (gt.get("when") or {}).get("visual", [])]
    size = [int(gt.get("width") or 0), int(gt.get("height") or 0)]
    if not gt_frames or min(size) <= 0 or gt.get("source") == "none":
        return {
            **empty,
            "project": task.project_id,
            "reason": "The video has no accepted annotations (or gold answer) yet.",
        }
    heat = storage.read_map(explanation.map_file)
    times = np.array([float(f["time"]) for f in gt_frames])
    frames = []
    boxes_per_frame = []
    for k, t in enumerate(explanation.timestamps):
        nearest = int(np.argmin(np.abs(times - float(t))))
        boxes = [list(map(float, b)) for b in gt_frames[nearest]["boxes"]]
        boxes_per_frame.append(boxes)
        frames.append({"index": k, "time": float(t), "boxes": boxes, "hit": None, "point": None})
    k_max = max(1, max(len(b) for b in boxes_per_frame))
    padded = np.full((len(frames), k_max, 4), np.nan)
    for k, boxes in enumerate(boxes_per_frame):
        if boxes:
            padded[k, : len(boxes)] = boxes
    spatial = spatial_pointing_game(heat, padded, None, tuple(size), tolerance=tol)
    from workers.metrics import max_cell_points

    px, py, _ = max_cell_points(heat, tuple(size))
    for k, frame in enumerate(frames):
        frame["point"] = [float(px[k]), float(py[k])]
        frame["hit"] = bool(spatial.hits[k]) if spatial.counted[k] else None
    temporal_hit = None
    if segments:
        seg = np.array([segments], dtype=np.float64)
        tres = temporal_pointing_game(
            np.array([explanation.temporal], dtype=np.float64),
            np.array([explanation.timestamps], dtype=np.float64),
            seg,
        )
        temporal_hit = bool(tres.hits[0]) if tres.counted[0] else None
    sound_segments = [list(map(float, s)) for s in (gt.get("when") or {}).get("sound", [])]
    try:
        sound = sound_hit(explanation.audio, sound_segments)
    except ValueError:
        sound = None
    accuracy = spatial.accuracy
    return {
        "available": True,
        "reason": "",
        "project": task.project_id,
        "source_size": size,
        "tolerance": tol,
        "frames": frames,
        "segments": segments,
        "temporal_hit": temporal_hit,
        "sound_segments": sound_segments,
        "sound_hit": sound,
        "spatial_accuracy": None if np.isnan(accuracy) else float(accuracy),
    }
