"""Who sees, requests and changes what in the explanations app.

The role rules are :mod:`wherewhen.accounts.access`'s; this module adds the object rules
(which models, explanations, flags and bulk runs a user sees) and the lookups of the things a
request names, which answer a clear 400 when the thing is not one the user may use.

============================  =================================================================
rule                          who
============================  =================================================================
request an explanation        reviewers and researchers
import an explanation         researchers
see models                    reviewers every model; researchers their own and public ones
edit or delete a model        its owner (or a superuser); bundled models have no owner
see explanations              reviewers every one; researchers those of videos they see
rename an explanation         whoever requested it, the video's owner (or a superuser)
change or delete a flag       its author, the video's owner (or a superuser)
see bulk runs, use a dataset  their owner (or a superuser)
============================  =================================================================
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from wherewhen.accounts import access
from wherewhen.core.exceptions import Invalid
from wherewhen.explanations.models import BulkRun, Explanation, Export, Flag, RegisteredModel
from wherewhen.videos import services as video_services
from wherewhen.videos.models import Dataset, Video


def can_request(user) -> bool:
    """Researchers and reviewers request explanations."""
    return access.reviews(user)


def can_import(user) -> bool:
    """Researchers import explanations made by other tools."""
    return access.is_researcher(user)


def user_can_view_video(user, video: Video) -> bool:
    """The video library's rule (owners, reviewers, admins, and what its hooks allow)."""
    return bool(video_services.user_can_view(user, video))


def visible_models(user) -> QuerySet[RegisteredModel]:
    if not access.reviews(user):
        return RegisteredModel.objects.none()
    if access.sees_all(user):
        return RegisteredModel.objects.all()
    return RegisteredModel.objects.filter(Q(owner=user) | Q(public=True))


def can_edit_model(user, model: RegisteredModel) -> bool:
    return bool(user.is_superuser or (model.owner_id is not None and model.owner_id == user.pk))


def visible_explanations(user) -> QuerySet[Explanation]:
    if access.sees_all(user):
        return Explanation.objects.all()
    if not access.is_researcher(user):
        return Explanation.objects.none()
    return Explanation.objects.filter(video__in=video_services.visible_videos(user))


def can_rename(user, explanation: Explanation) -> bool:
    """Whoever requested the explanation or the video's owner (or a superuser) names it."""
    return bool(
        user.is_superuser
        or (explanation.requested_by_id is not None and explanation.requested_by_id == user.pk)
        or explanation.video.owner_id == user.pk
    )


def visible_flags(user) -> QuerySet[Flag]:
    return Flag.objects.filter(explanation__in=visible_explanations(user))


def can_change_flag(user, flag: Flag) -> bool:
    """The flag's author or the video's owner (or a superuser) resolves or deletes it."""
    return bool(
        user.is_superuser or flag.author_id == user.pk or flag.explanation.video.owner_id == user.pk
    )


def visible_exports(user) -> QuerySet[Export]:
    return Export.objects.filter(explanation__in=visible_explanations(user))


def visible_bulk_runs(user) -> QuerySet[BulkRun]:
    runs = BulkRun.objects.all()
    if not getattr(user, "is_authenticated", False):
        return runs.none()
    return runs if user.is_superuser else runs.filter(owner=user)


# --- The things a request names -----------------------------------------------------------------


def video_for(user, video_id: Any, field: str = "video") -> Video:
    """The video ``video_id`` if ``user`` may see it; otherwise :class:`Invalid` on ``field``."""
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not user_can_view_video(user, video):
        raise Invalid({field: f"No video with id {video_id} is visible to you."})
    return video


def model_for(user, model_id: Any, field: str = "model") -> RegisteredModel | None:
    """The model ``model_id`` if ``user`` sees it (None for None); else :class:`Invalid`."""
    if model_id is None:
        return None
    model = visible_models(user).filter(pk=model_id).first()
    if model is None:
        raise Invalid({field: f"No registered model with id {model_id} is visible to you."})
    return model


def dataset_for(user, dataset_id: Any, field: str = "dataset") -> Dataset:
    """``user``'s dataset ``dataset_id`` (a superuser's: any); otherwise :class:`Invalid`."""
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None or not (user.is_superuser or dataset.owner_id == user.pk):
        raise Invalid({field: f"No dataset with id {dataset_id} is yours."})
    return dataset


def dataset_named(user, name: str, field: str = "dataset_name") -> Dataset:
    """``user``'s dataset called ``name`` (the one bulk runs and imports name); otherwise
    :class:`Invalid`."""
    dataset = Dataset.objects.filter(owner=user, name=str(name).strip()).first()
    if dataset is None:
        raise Invalid({field: f"You have no dataset named {str(name)[:200]!r}."})
    return dataset
