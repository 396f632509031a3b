"""Who sees what in crowd annotation: the object rules, built on the role rules of
:mod:`wherewhen.accounts.access`.

=========== ==================================== ======================================
who         projects and tasks                   assignments
=========== ==================================== ======================================
superuser   every project                        every assignment
researcher  their own projects                   those of their projects
reviewer    every project (read-only)            submitted crowd work (and its review)
annotator   none (they work through the queue)   their own
=========== ==================================== ======================================

Annotators take tasks from the projects open to them (:func:`open_projects_for`).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from wherewhen.accounts.access import is_annotator, is_researcher, reviews, sees_all
from wherewhen.accounts.models import Role, User
from wherewhen.annotations.models import Assignment, Project, Task
from wherewhen.videos.models import Video

Status = Assignment.Status
Source = Assignment.Source

# Statuses that keep a slot of the video taken regardless of the lease: the crowd work a
# reviewer sees.
HOLDING = (Status.SUBMITTED, Status.ACCEPTED, Status.REJECTED)


def can_review(user: User) -> bool:
    """Reviewers review every project's annotations, researchers those of their projects."""
    return reviews(user)


def takes_tasks(user: User) -> bool:
    """Whether ``user`` gets tasks from the queue: annotators by role. Unlike the role checks,
    a superuser of another role does not (queue work counts toward a video's ``k`` and toward
    the annotator's accuracy on gold)."""
    return is_annotator(user) and user.role == Role.ANNOTATOR


def projects_visible_to(user: User) -> QuerySet[Project]:
    """Researchers see their own projects, reviewers every project, annotators none (they work
    through the task queue and their own assignments)."""
    qs = Project.objects.all()
    if sees_all(user):
        return qs
    if is_researcher(user):
        return qs.filter(owner=user)
    return qs.none()


def tasks_visible_to(user: User) -> QuerySet[Task]:
    return Task.objects.filter(project__in=projects_visible_to(user))


def assignments_visible_to(user: User) -> QuerySet[Assignment]:
    """Annotators see only their own assignments; researchers those of their projects;
    reviewers every crowd assignment that has been submitted (and its review)."""
    qs = Assignment.objects.select_related("task__project", "task__video", "annotator", "reviewer")
    if user.is_superuser:
        return qs
    if is_researcher(user):
        return qs.filter(task__project__owner=user)
    if sees_all(user):
        return qs.filter(source=Source.CROWD, status__in=HOLDING)
    if is_annotator(user):
        return qs.filter(annotator=user)
    return qs.none()


def open_projects_for(annotator: User) -> QuerySet[Project]:
    """Active projects an annotator may work on (nobody listed on a project: everyone)."""
    return (
        Project.objects.filter(active=True)
        .filter(
            Q(annotators=annotator)
            | ~Exists(Project.annotators.through.objects.filter(project_id=OuterRef("pk")))
        )
        .distinct()
    )


def _watching_q(now: datetime) -> Q:
    """An annotator's assignments that let them watch its video: in progress under a lease
    that has not run out, or their submitted work (submitted, accepted, sent back)."""
    return Q(status__in=HOLDING) | Q(status=Status.IN_PROGRESS, lease_expires_at__gt=now)


def annotator_may_watch(assignment: Assignment, now: datetime | None = None) -> bool:
    """Whether the annotator of ``assignment`` may still watch its video: not once they gave
    the task back or its lease ran out (until they open it again)."""
    now = now or timezone.now()
    return Assignment.objects.filter(pk=assignment.pk).filter(_watching_q(now)).exists()


def user_can_view_video(user: User, video: Video) -> bool:
    """Whether annotation work lets ``user`` watch ``video``: an assignment of theirs on it that
    is in progress under a live lease or submitted, a project of theirs containing it, or a
    reviewer's review of it. An annotator who gave a task back, or whose lease ran out, no
    longer sees its video."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or video.owner_id == user.id:
        return True
    tasks = Task.objects.filter(video=video)
    if is_annotator(user):
        return (
            Assignment.objects.filter(task__in=tasks, annotator=user)
            .filter(_watching_q(timezone.now()))
            .exists()
        )
    if is_researcher(user):
        return tasks.filter(project__owner=user).exists()
    if sees_all(user):
        return Assignment.objects.filter(
            task__in=tasks, source=Source.CROWD, status__in=HOLDING
        ).exists()
    return False
