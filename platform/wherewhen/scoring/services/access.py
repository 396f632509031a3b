"""Who may read scores: researchers their own projects, reviewers every project; the
project or explanation a request names, or a clear 400/404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from wherewhen.accounts import access
from wherewhen.annotations import services as annotation_services
from wherewhen.annotations.models import Project
from wherewhen.core import exceptions
from wherewhen.explanations.models import Explanation


def can_score(user) -> bool:
    """Researchers and reviewers read scores (the role rule of ``accounts.access``)."""
    return access.reviews(user)


def visible_projects(user) -> QuerySet[Project]:
    """Researchers see their own projects, reviewers every project (the annotation app's rule)."""
    if not can_score(user):
        return Project.objects.none()
    return annotation_services.projects_visible_to(user)


def project_for(user, project_id: Any) -> Project:
    try:
        pk = int(project_id)
    except (TypeError, ValueError) as exc:
        raise exceptions.Invalid({"project": "Give the annotation project's id."}) from exc
    project = visible_projects(user).filter(pk=pk).first()
    if project is None:
        raise exceptions.NotFound(f"No annotation project with id {pk} is visible to you.")
    return project


def explanation_for(user, explanation_id: Any) -> Explanation:
    from wherewhen.explanations import services as explanation_services

    try:
        pk = int(explanation_id)
    except (TypeError, ValueError) as exc:
        raise exceptions.Invalid(
            {"explanation": "Give the id of the explanation to score (?explanation=)."}
        ) from exc
    explanation = explanation_services.visible_explanations(user).filter(pk=pk).first()
    if explanation is None:
        raise exceptions.NotFound(f"No explanation with id {pk} is visible to you.")
    return explanation
