"""What comes in and what goes out: known ground truth (from code or a CVAT for video 1.1 file,
as accepted truth or as a gold item's answer) and exports (one annotation as CVAT XML, a
project as COCO-style JSON, CSV or a zip of CVAT files). The file formats themselves are
:mod:`wherewhen.annotations.formats`."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from wherewhen.annotations import formats
from wherewhen.annotations.models import Assignment, Project, Task
from wherewhen.annotations.services.content import (
    annotation_of,
    clean_for_task,
    geometry_of,
    set_gold_answer,
    task_labels,
    with_content,
    write_annotation,
)
from wherewhen.annotations.services.projects import add_videos, project_labels
from wherewhen.annotations.services.quality import ground_truth_for_video, refresh_task_quality
from wherewhen.core.exceptions import Invalid
from wherewhen.videos.models import Video

Status = Assignment.Status
Source = Assignment.Source


def import_ground_truth(
    project: Project,
    video: Video,
    tracks: list[dict],
    segments: list[dict],
    accepted: bool = True,
    *,
    label: str = "",
) -> Assignment:
    """Store known boxes and segments of a video as an imported annotation.

    ``tracks``: ``[{"label", "keyframes": [{"frame", "x0", "y0", "x1", "y1", "outside"?,
    "occluded"?}]}]``; ``segments``: ``[{"kind": "visual"|"sound", "start", "end"}]`` in
    seconds (``start == end`` is accepted for a known instant). The video joins the project
    if it is not in it (``label``: its class, else the video's label). With ``accepted`` the
    annotation counts toward the consensus at once; otherwise it waits for review. Raises
    :class:`Invalid` (nothing written) when the data breaks the rules.
    """
    with transaction.atomic():
        task = (
            Task.objects.filter(project=project, video=video)
            .select_related("project", "video")
            .first()
        )
        if task is None:
            task = add_videos(project, [video], label=label)[0]
            task = Task.objects.select_related("project", "video").get(pk=task.pk)
        cleaned = clean_for_task(
            task, {"tracks": tracks, "segments": segments}, allow_instant_segments=True
        )
        now = timezone.now()
        assignment = Assignment.objects.create(
            task=task,
            source=Source.IMPORT,
            status=Status.ACCEPTED if accepted else Status.SUBMITTED,
            draft=cleaned,
            submitted_at=now,
            reviewed_at=now if accepted else None,
        )
        write_annotation(assignment, cleaned)
        if accepted:
            refresh_task_quality(task)
        return assignment


def _cvat_meta(task: Task) -> formats.CvatMeta:
    geometry = geometry_of(task.video)
    return formats.CvatMeta(
        task_id=task.pk,
        name=task.video.title,
        n_frames=geometry.n_frames,
        width=geometry.width,
        height=geometry.height,
        labels=task_labels(task) or [task.label],
        source=task.video.original_name,
    )


def export_assignment_cvat(assignment: Assignment, frames: str = "dense") -> str:
    """One annotation as CVAT for video 1.1 XML (the submitted content, else the draft)."""
    task = assignment.task
    content = annotation_of(assignment) if assignment.submitted_at else assignment.draft
    return formats.export_cvat_xml(
        content or {"tracks": [], "segments": []},
        _cvat_meta(task),
        segment_label=task.label,
        frames=frames,
    )


@dataclass
class CvatImport:
    """What :func:`import_cvat` stored, and its summary of the file (see
    :class:`wherewhen.annotations.formats.ImportSummary`)."""

    assignment: Assignment
    summary: dict


def import_cvat(
    project: Project, video: Video, data: bytes, target: str = "ground_truth"
) -> CvatImport:
    """Import a CVAT for video 1.1 file as accepted ground truth (``target="ground_truth"``) or
    as the known answer of a gold item (``target="gold"``).

    Every box the file lists is kept as it is on its frame, keyframe or not (see
    :mod:`wherewhen.annotations.formats`), with its label, flags and attributes; the summary says
    what was read and every change made to store it. A file that is malformed, is for another
    video size or length, or holds something that cannot be represented (other shapes, tags,
    rotated boxes, a label that is not the project's...) raises :class:`Invalid` naming it, and
    nothing is written."""
    if target not in ("ground_truth", "gold"):
        raise Invalid({"target": ["Import as ground_truth or gold."]})
    task = (
        Task.objects.select_related("project", "video").filter(project=project, video=video).first()
    )
    if task is None:
        raise Invalid({"video": ["Add the video to the project before importing into it."]})
    geometry = geometry_of(video)
    try:
        parsed = formats.parse_cvat_xml(
            data,
            n_frames=geometry.n_frames,
            size=(geometry.width, geometry.height),
            labels=task_labels(task),
            default_label=task.label,
        )
    except formats.InvalidFile as error:
        raise Invalid({"file": [str(error)]}) from None
    annotation = parsed.annotation
    if target == "gold":
        assignment = set_gold_answer(task, annotation)
    else:
        assignment = import_ground_truth(
            project, video, annotation["tracks"], annotation["segments"]
        )
    return CvatImport(assignment, parsed.summary.as_dict())


@dataclass
class ExportFile:
    content: bytes
    content_type: str
    filename: str


def _records(project: Project, source: str) -> list[formats.VideoRecord]:
    tasks = list(project.tasks.select_related("video").order_by("id"))
    crowd = with_content(
        Assignment.objects.filter(task__project=project, status=Status.ACCEPTED)
        .exclude(source=Source.GOLD)
        .select_related("annotator")
        .order_by("task_id", "submitted_at", "id")
    )
    by_task: dict[int, list[Assignment]] = {}
    for a in crowd:
        by_task.setdefault(a.task_id, []).append(a)
    records = []
    for task in tasks:
        video = task.video
        geometry = geometry_of(video)
        record = formats.VideoRecord(
            video_id=video.pk,
            title=video.title,
            file_name=video.original_name,
            width=geometry.width,
            height=geometry.height,
            fps=video.fps,
            duration=video.duration,
            timestamps=geometry.timestamps,
            label=task.label,
        )
        if source in ("accepted", "all"):
            record.annotations = [
                (a.source, a.pk, a.annotator.username if a.annotator_id else "", annotation_of(a))
                for a in by_task.get(task.pk, [])
            ]
        if source in ("consensus", "all"):
            record.consensus = ground_truth_for_video(project, video)
        records.append(record)
    return records


def export_project(
    project: Project, fmt: str, source: str = "consensus", frames: str = "dense"
) -> ExportFile:
    """A project's annotations as ``coco`` (JSON), ``csv`` or ``cvat`` (a zip with one CVAT for
    video 1.1 file per accepted annotation). ``source``: ``consensus`` (ground truth per video),
    ``accepted`` (every accepted annotation) or ``all`` (both). ``frames``: ``dense`` (a box on
    every frame) or ``keyframes`` (only the boxes stored: keyframes and tracked boxes; COCO and
    CVAT)."""
    if source not in ("consensus", "accepted", "all"):
        raise Invalid({"source": ["Choose consensus, accepted or all."]})
    if frames not in ("dense", "keyframes"):
        raise Invalid({"frames": ["Choose dense or keyframes."]})
    stem = f"project-{project.pk}"
    if fmt == "coco":
        info = {
            "description": project.name,
            "project": project.pk,
            "source": source,
            "exported_at": timezone.now().isoformat(),
        }
        body = formats.export_coco(
            _records(project, source), project_labels(project), info, frames=frames
        )
        return ExportFile(
            json.dumps(body, indent=1).encode(), "application/json", f"{stem}-coco.json"
        )
    if fmt == "csv":
        return ExportFile(
            formats.export_csv(_records(project, source)).encode(),
            "text/csv; charset=utf-8",
            f"{stem}.csv",
        )
    if fmt == "cvat":
        buffer = io.BytesIO()
        accepted = Assignment.objects.filter(task__project=project, status=Status.ACCEPTED).exclude(
            source=Source.GOLD
        )
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for a in with_content(
                accepted.select_related("task__project", "task__video", "annotator")
            ).order_by("task_id", "id"):
                who = a.annotator.username if a.annotator_id else a.source
                archive.writestr(
                    f"video-{a.task.video_id}/{a.pk}-{who}.xml",
                    export_assignment_cvat(a, frames),
                )
        return ExportFile(buffer.getvalue(), "application/zip", f"{stem}-cvat.zip")
    raise Invalid({"type": ["Choose coco, csv or cvat."]})
