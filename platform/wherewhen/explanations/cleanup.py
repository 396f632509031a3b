"""Files follow their rows: deleting an explanation (with its video, its model or on its own)
deletes its map, and deleting an export deletes its rendered file, once the deletion commits.

A rolled-back deletion keeps its files; a file already gone is not an error. Names are the
stored ones, deleted through :mod:`wherewhen.core.media` (which refuses names outside the
local media root).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete

from wherewhen.core import media
from wherewhen.explanations.models import Explanation, Export

log = logging.getLogger(__name__)
_UID = "wherewhen.explanations.cleanup"


def remove_media_file(relative: str) -> None:
    """Delete the stored ``relative`` after the current transaction commits."""
    if not relative:
        return

    def remove() -> None:
        try:
            media.delete(relative)
        except Exception:  # the row is gone either way; an orphan file is logged, not raised
            log.warning("could not delete %s", relative, exc_info=True)

    transaction.on_commit(remove)


def explanation_deleted(sender, instance: Explanation, **kwargs) -> None:
    remove_media_file(instance.map_file)


def export_deleted(sender, instance: Export, **kwargs) -> None:
    remove_media_file(instance.file)


def connect() -> None:
    post_delete.connect(explanation_deleted, sender=Explanation, dispatch_uid=f"{_UID}.map")
    post_delete.connect(export_deleted, sender=Export, dispatch_uid=f"{_UID}.export")
