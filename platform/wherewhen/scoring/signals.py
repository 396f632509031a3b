"""What makes scores stale: accepted annotations and gold answers that change a video's ground
truth, a project's class map or labels (which label a class is scored against), and
explanations that finish.

Every receiver only records *what* changed (``services.request_recompute``: a
:class:`~wherewhen.scoring.models.ScoreRequest` row and a ``scoring.recompute`` task on the
``default`` queue, both after the change commits); the task works out what to recompute. A
receiver never raises into the code that saved the row: a failure is logged, and the change is
picked up by the next recompute of the project.
"""

from __future__ import annotations

import logging

from django.db.models.signals import post_delete, post_init, post_save

from wherewhen.annotations.models import Assignment, Project, Task
from wherewhen.explanations.models import Explanation

log = logging.getLogger(__name__)
_UID = "wherewhen.scoring"


def _safely(fn):
    def wrapper(*args, **kwargs) -> None:
        from wherewhen.scoring import services

        if not services.auto_recompute() or kwargs.get("raw"):
            return
        try:
            fn(*args, **kwargs)
        except Exception:
            log.exception("could not queue a scoring recompute")

    wrapper.__name__ = fn.__name__
    return wrapper


def _task_of(assignment: Assignment) -> tuple[int, int] | None:
    row = Task.objects.filter(pk=assignment.task_id).values_list("project_id", "video_id").first()
    return row


@_safely
def assignment_saved(sender, instance: Assignment, **kwargs) -> None:
    """An accepted annotation (or gold answer) changes the consensus; so does one that stops
    being accepted (it still has scores or a baseline of its own)."""
    from wherewhen.scoring import services
    from wherewhen.scoring.models import ExplanationScore, HumanBaseline

    accepted = instance.status == Assignment.Status.ACCEPTED
    if not accepted and not (
        ExplanationScore.objects.filter(assignment_id=instance.pk).exists()
        or HumanBaseline.objects.filter(assignment_id=instance.pk).exists()
    ):
        return
    where = _task_of(instance)
    if where is not None:
        services.request_recompute(
            [(where[0], where[1], None)], reason=f"annotation {instance.pk} {instance.status}"
        )


@_safely
def assignment_deleted(sender, instance: Assignment, **kwargs) -> None:
    from wherewhen.scoring import services

    if instance.status != Assignment.Status.ACCEPTED:
        return
    where = _task_of(instance)
    if where is not None:
        services.request_recompute(
            [(where[0], where[1], None)], reason=f"annotation {instance.pk} deleted"
        )


@_safely
def task_deleted(sender, instance: Task, **kwargs) -> None:
    """A video left a project: its scores there go (the request is dropped if the project
    itself is being deleted)."""
    from wherewhen.scoring import services

    services.request_recompute(
        [(instance.project_id, instance.video_id, None)], reason="video left the project"
    )


def _label_rule(project: Project) -> str:
    """What of a project decides its scores' labels and ground truth."""
    return repr((project.class_map, project.labels, project.exclude_exposed))


def project_loaded(sender, instance: Project, **kwargs) -> None:
    instance._scoring_label_rule = _label_rule(instance)


@_safely
def project_saved(sender, instance: Project, created: bool = False, **kwargs) -> None:
    """A changed class map or label set changes which label each class is scored against; a
    changed exposure setting changes the ground truth."""
    from wherewhen.scoring import services

    before = getattr(instance, "_scoring_label_rule", None)
    now = _label_rule(instance)
    instance._scoring_label_rule = now
    if created or before == now:
        return
    services.request_recompute(
        [(instance.pk, None, None)], reason="class map, labels or exposure setting changed"
    )


def _explanation_done(explanation_id: int, video_id: int) -> None:
    from wherewhen.scoring import services

    projects = services.projects_holding(video_id)
    services.request_recompute(
        [(p, None, explanation_id) for p in projects],
        reason=f"explanation {explanation_id} done",
    )


@_safely
def explanation_saved(sender, instance: Explanation, **kwargs) -> None:
    """Imported explanations are created done; other saves of a done row are cheap to check
    (unchanged pairs are skipped)."""
    if instance.status == Explanation.Status.DONE and instance.map_file:
        _explanation_done(instance.pk, instance.video_id)


@_safely
def explanation_finished(sender, explanation_id: int, **kwargs) -> None:
    """Computed explanations turn done through a conditional UPDATE (no ``post_save``)."""
    video_id = Explanation.objects.filter(pk=explanation_id).values_list("video_id", flat=True)
    video_id = video_id.first()
    if video_id is not None:
        _explanation_done(explanation_id, video_id)


def connect() -> None:
    from wherewhen.explanations import services as explanation_services

    post_save.connect(assignment_saved, sender=Assignment, dispatch_uid=f"{_UID}.assignment")
    post_delete.connect(
        assignment_deleted, sender=Assignment, dispatch_uid=f"{_UID}.assignment-deleted"
    )
    post_delete.connect(task_deleted, sender=Task, dispatch_uid=f"{_UID}.task-deleted")
    post_init.connect(project_loaded, sender=Project, dispatch_uid=f"{_UID}.project-loaded")
    post_save.connect(project_saved, sender=Project, dispatch_uid=f"{_UID}.project")
    post_save.connect(explanation_saved, sender=Explanation, dispatch_uid=f"{_UID}.explanation")
    explanation_services.explanation_finished.connect(
        explanation_finished, sender=Explanation, dispatch_uid=f"{_UID}.explanation-finished"
    )
