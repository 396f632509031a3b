"""Reviewing explanations: names, flags (a reviewer's note that a map looks wrong) and exports
(an overlay MP4 or a keyframe PNG strip, rendered by the media worker)."""

from __future__ import annotations

import logging

from django.db import transaction

from wherewhen.core import media, tasking
from wherewhen.core.exceptions import Conflict, Invalid, NotFound
from wherewhen.explanations.models import NAME_MAX_LENGTH, Explanation, Export, Flag
from wherewhen.explanations.services.requests import digest

log = logging.getLogger(__name__)

EXPORT_DEFAULTS = {"colormap": "jet", "opacity": 0.5, "threshold": 0.0}


def rename(explanation: Explanation, name: object) -> Explanation:
    """Give ``explanation`` a name (trimmed, inner runs of white space made one space; blank
    brings back the default name). Names need not be unique."""
    if not isinstance(name, str):
        raise Invalid({"name": ["Give the name as text."]})
    cleaned = " ".join(name.split())
    if len(cleaned) > NAME_MAX_LENGTH:
        raise Invalid({"name": [f"Keep the name to {NAME_MAX_LENGTH} characters or fewer."]})
    if any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
        raise Invalid({"name": ["The name may not hold control characters."]})
    explanation.name = cleaned
    explanation.save(update_fields=["name", "updated_at"])
    return explanation


def add_flag(
    user,
    explanation: Explanation,
    *,
    reason: str = Flag.Reason.OTHER,
    comment: str = "",
    time: float | None = None,
):
    """Flag ``explanation`` (the reason defaults to "other", the time to the whole clip)."""
    return Flag.objects.create(
        explanation=explanation, author=user, reason=reason, comment=comment, time=time
    )


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
        raise Invalid({"options": [f"Unknown option(s): {', '.join(unknown)}."]})
    if opts["colormap"] not in COLORMAPS:
        raise Invalid({"options": [f"colormap must be one of {', '.join(sorted(COLORMAPS))}."]})
    for name in ("opacity", "threshold"):
        v = opts[name]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
            raise Invalid({"options": [f"{name} must be a number from 0 to 1."]})
        opts[name] = float(v)
    key = digest(opts)
    with transaction.atomic():
        export, created = Export.objects.get_or_create(
            explanation=explanation,
            kind=kind,
            options_hash=key,
            defaults={"options": opts, "requested_by": user},
        )
        if not created and export.status == Export.Status.FAILED:
            export.status, export.error = Export.Status.QUEUED, ""
            export.save(update_fields=["status", "error"])
            created = True
        if created:
            pk = export.pk
            transaction.on_commit(lambda: _send_render(pk))
    return export, created


def _send_render(export_id: int) -> None:
    try:
        tasking.send(tasking.EXPLANATION_RENDER, args=[export_id])
    except tasking.QueueUnavailable as exc:  # the export says so; asking again sends it again
        log.exception("could not queue export %s", export_id)
        Export.objects.filter(pk=export_id, status=Export.Status.QUEUED).update(
            status=Export.Status.FAILED,
            error=f"Could not reach the task queue ({str(exc).split(':')[0]}); ask again in a "
            "moment.",
        )


def export_file(export: Export) -> str:
    """The storage name of a finished export's file: :class:`Conflict` while it is not
    finished, :class:`NotFound` when its file is gone."""
    if export.status != Export.Status.DONE or not export.file:
        raise Conflict(f"Export {export.pk} is not ready (status: {export.status}).")
    if not media.exists(export.file):
        raise NotFound("The exported file is missing.")
    return export.file
