"""Importing an explanation made by another tool: a validated ``.npz`` (never unpickled, see
:mod:`wherewhen.explanations.npz`) stored as a done explanation; the same file for the same
video gives the same row."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from wherewhen.core.exceptions import Invalid
from wherewhen.explanations import conf, npz, storage
from wherewhen.explanations.models import Explanation, RegisteredModel
from wherewhen.explanations.services.checks import check_target, check_video_ready
from wherewhen.explanations.services.requests import digest
from wherewhen.videos.models import Video


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
    check_video_ready(video)
    target = check_target(model, target)
    method = (method or "").strip()
    if not method or len(method) > 64:
        raise Invalid({"method": ["Name the method that made this file (1-64 characters)."]})
    data = npz.read_upload(upload, max_bytes=conf.import_max_bytes())
    imported = npz.validate(
        data.arrays,
        duration=float(video.duration or 0.0),
        frame_size=(int(video.width or 0), int(video.height or 0)),
    )
    if target is None:
        target = imported.target
        if target is not None and model is not None and not 0 <= target < len(model.labels):
            raise Invalid(
                {"file": [f"The file's target {target} is out of range for model {model.name!r}."]}
            )
    key = digest({"imported": [video.content_hash, video.pk, data.sha256, method, target]})
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
                params_hash=digest({"imported": data.sha256}),
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
                view=imported.view,
            )
    except IntegrityError:
        return Explanation.objects.get(request_key=key), False
    return explanation, True
