"""The demo study is built as soon as its explanations are scored (``metaeval.demo``): a new
consensus score in the demo benchmark project looks, after it commits, whether every clip is
ready. A receiver never raises into the code that saved the score (a failure is logged; the next
``seed_demo`` builds the study)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_save

from wherewhen.scoring.models import ExplanationScore

log = logging.getLogger(__name__)
_UID = "wherewhen.metaeval.demo"


def _build(project_id: int) -> None:
    from wherewhen.metaeval import demo

    try:
        demo.build_when_ready(project_id)
    except Exception:
        log.exception("could not build the demo study")


def score_saved(sender, instance: ExplanationScore, created: bool, raw: bool = False, **kwargs):
    if raw or not created or instance.reference != ExplanationScore.Reference.CONSENSUS:
        return
    project_id = instance.project_id
    transaction.on_commit(lambda: _build(project_id))


def connect() -> None:
    post_save.connect(score_saved, sender=ExplanationScore, dispatch_uid=_UID)
