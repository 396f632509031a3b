"""A project's videos and labels: adding videos (one task each), letting more annotators work
on a video, the project's labels and how a model's classes map to them."""

from __future__ import annotations

from django.db import transaction

from wherewhen.annotations import labels as label_rules
from wherewhen.annotations.models import Project, Task
from wherewhen.annotations.services.content import geometry_of
from wherewhen.core.exceptions import Conflict, Invalid
from wherewhen.videos.models import Dataset, Video


def _check_annotatable(video: Video) -> None:
    if video.status != Video.Status.READY:
        raise Invalid(
            {"videos": [f"Video {video.pk} ({video.title}) is not ready yet ({video.status})."]}
        )
    geometry = geometry_of(video)
    if not geometry.width or not geometry.height or not geometry.n_frames:
        raise Invalid({"videos": [f"Video {video.pk} ({video.title}) has no size or frames yet."]})


def add_videos(
    project: Project,
    videos: list[Video] | None = None,
    dataset: Dataset | None = None,
    *,
    label: str = "",
    gold: bool = False,
) -> list[Task]:
    """Add videos (and every video of a dataset) to a project; videos already in it are left
    as they are. The class to localize is ``label``, else the video's own label, else the
    project's first label."""
    chosen: dict[int, Video] = {v.pk: v for v in videos or []}
    if dataset is not None:
        chosen.update({v.pk: v for v in dataset.videos.all()})
    if not chosen:
        raise Invalid({"videos": ["Choose at least one video or a dataset."]})
    for video in chosen.values():
        _check_annotatable(video)
    labels = list(project.labels or [])
    created = []
    with transaction.atomic():
        existing = set(project.tasks.filter(video__in=chosen).values_list("video_id", flat=True))
        for video in sorted(chosen.values(), key=lambda v: v.pk):
            if video.pk in existing:
                continue
            task_label = label or video.label or (labels[0] if labels else "")
            if not task_label:
                raise Invalid(
                    {"label": [f"Say which class to localize in video {video.pk} ({video.title})."]}
                )
            if labels and task_label not in labels:
                raise Invalid(
                    {
                        "label": [
                            f"'{task_label}' is not one of the project's labels ({', '.join(labels)})."
                        ]
                    }
                )
            created.append(
                Task.objects.create(project=project, video=video, label=task_label, is_gold=gold)
            )
    return created


def request_more_annotators(task: Task, count: int = 1) -> Task:
    """Let ``count`` more annotators work on a video (up to the project's ``max_overlap``)."""
    with transaction.atomic():
        task = Task.objects.select_for_update().select_related("project").get(pk=task.pk)
        room = task.project.max_overlap - task.required
        if room <= 0:
            raise Conflict(
                f"This video already gets the most annotators the project allows ({task.project.max_overlap})."
            )
        task.extra_overlap += min(count, room)
        task.save(update_fields=["extra_overlap"])
    return task


def project_labels(project: Project) -> list[str]:
    """The project's label set, then its tasks' labels not in it."""
    labels = list(project.labels or [])
    for label in project.tasks.values_list("label", flat=True).distinct().order_by("label"):
        if label not in labels:
            labels.append(label)
    return labels


def class_choices(project: Project, class_names: list[str]) -> list[dict]:
    """How each class name maps to a label of ``project`` (for the class-map editor)."""
    known = project_labels(project)
    out = []
    for name in class_names:
        choice = label_rules.resolve(name, project.class_map or {}, known)
        out.append({"class_name": name, "label": choice.label, "explicit": choice.explicit})
    return out
