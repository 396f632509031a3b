"""Files follow their rows: deleting an explanation (with its video, its model or on its own)
deletes its map, and deleting an export deletes its rendered file, once the deletion commits.

A rolled-back deletion keeps its files; a file already gone is not an error. Paths are the
stored ones under ``MEDIA_ROOT`` and are checked to stay inside it.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete

from wherewhen.explanations.models import Explanation, Export

log = logging.getLogger(__name__)
_UID = "wherewhen.explanations.cleanup"


def remove_media_file(relative: str) -> None:
    """Delete ``MEDIA_ROOT/relative`` after the current transaction commits."""
    if not relative:
        return
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        log.warning("not deleting %s: it is outside MEDIA_ROOT", relative)
        return

    def remove() -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    transaction.on_commit(remove)


def explanation_deleted(sender, instance: Explanation, **kwargs) -> None:
    remove_media_file(instance.map_file)


def export_deleted(sender, instance: Export, **kwargs) -> None:
    remove_media_file(instance.file)


def connect() -> None:
    post_delete.connect(explanation_deleted, sender=Explanation, dispatch_uid=f"{_UID}.map")
    post_delete.connect(export_deleted, sender=Export, dispatch_uid=f"{_UID}.export")
