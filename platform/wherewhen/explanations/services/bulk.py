"""Bulk runs: every (ready video of a dataset) x (method) explanation requested as one job,
followed as done/total with an ETA (``POST /api/v1/bulk-runs/``, ``manage.py
explain_dataset``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from wherewhen.core.exceptions import Invalid
from wherewhen.explanations import methods
from wherewhen.explanations.models import BulkRun, Explanation, RegisteredModel
from wherewhen.explanations.services.checks import check_method_hears, check_target
from wherewhen.explanations.services.requests import request_explanation
from wherewhen.videos import services as video_services
from wherewhen.videos.models import Dataset, Video


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
        raise Invalid({"methods": ["Choose at least one method."]})
    if len(set(method_names)) != len(method_names):
        raise Invalid({"methods": ["A method is listed twice."]})
    for name in method_names:
        try:
            methods.canonical_params(name, params.get(name))
        except methods.ParamsError as exc:
            raise Invalid(
                {"methods" if "Unknown method" in str(exc) else "params": [str(exc)]}
            ) from exc
        check_method_hears(name, model, field="methods")
    unknown = sorted(set(params) - set(method_names))
    if unknown:
        raise Invalid({"params": [f"Parameters given for methods not in the run: {unknown}."]})
    target = check_target(model, target)
    videos = list(video_services.visible_videos(user).filter(datasets=dataset).order_by("id"))
    if not videos:
        raise Invalid({"dataset": [f"Dataset {dataset.name!r} has no videos you can see."]})
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
