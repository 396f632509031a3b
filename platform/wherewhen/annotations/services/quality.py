"""Quality from consensus: a video's agreement and flag, its ground truth (a gold item's known
answer, else the consensus of its accepted annotations, label by label), the evidence scoring
reads, and the progress and quality reports of a project.

The arithmetic is :mod:`wherewhen.annotations.consensus` (plain functions); this module
gathers the annotations it works on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q
from django.utils import timezone

from wherewhen.annotations import consensus as consensus_math
from wherewhen.annotations.evidence import VideoEvidence
from wherewhen.annotations.geometry import SEGMENT_KINDS
from wherewhen.annotations.models import Assignment, Project, Task
from wherewhen.annotations.services.content import annotation_of, geometry_of, with_content
from wherewhen.annotations.services.exposure import exposed_annotations
from wherewhen.annotations.services.projects import project_labels
from wherewhen.core.exceptions import NotFound
from wherewhen.videos.models import Video

Status = Assignment.Status
Source = Assignment.Source


def _accepted(task: Task) -> list[Assignment]:
    qs = Assignment.objects.filter(
        task=task, status=Status.ACCEPTED, source__in=(Source.CROWD, Source.IMPORT)
    ).order_by("submitted_at", "id")
    return list(with_content(qs))


# --- what a video's ground truth is made of, and its version ---------------------------------


@dataclass
class TruthInputs:
    """The annotations one video's ground truth is made of (the rule is :func:`_select`).

    ``gold``: the gold answer (None: none); ``used``: the accepted annotations kept, in the
    order they were submitted; ``excluded``: ids of accepted annotations left out because their
    annotator was exposed to the video's explanations (``wherewhen.annotations.services.
    exposure``). ``version`` hashes the source and the ids and revisions of every input, so any
    newly accepted, edited, removed or excluded annotation gives a new version."""

    source: str  # gold | consensus | none
    gold: Assignment | None
    used: list[Assignment]
    excluded: list[int]

    @property
    def version(self) -> str:
        inputs = ([self.gold] if self.gold is not None else []) + self.used
        data = {"source": self.source, "inputs": sorted([a.pk, a.version] for a in inputs)}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def n_used(self) -> int:
        return 1 if self.gold is not None else len(self.used)


def _select(
    project: Project, gold: Assignment | None, accepted: list[Assignment], exposed: set[int]
) -> TruthInputs:
    """The one rule: a gold answer is the ground truth; else the consensus of the accepted
    annotations (crowd and imported), less the exposed ones when the project excludes them.
    Accepted annotations (less excluded ones) are the per-annotator references either way."""
    excluded = [a.pk for a in accepted if a.pk in exposed] if project.exclude_exposed else []
    used = [a for a in accepted if a.pk not in set(excluded)]
    source = "gold" if gold is not None else ("consensus" if used else "none")
    return TruthInputs(source, gold, used, excluded)


_ROW_FIELDS = ("id", "version", "task_id", "annotator_id", "source", "submitted_at", "status")


def _inputs_of_tasks(project: Project, tasks: list[Task], content: bool) -> dict[int, TruthInputs]:
    """:class:`TruthInputs` of each task (two queries, three with ``content``)."""
    qs = Assignment.objects.filter(task__in=tasks).filter(
        Q(source=Source.GOLD) | Q(status=Status.ACCEPTED, source__in=(Source.CROWD, Source.IMPORT))
    )
    qs = with_content(qs) if content else qs.only(*_ROW_FIELDS)
    video_of = {t.pk: t.video_id for t in tasks}
    gold: dict[int, Assignment] = {}
    accepted: dict[int, list[Assignment]] = {t.pk: [] for t in tasks}
    for a in qs.order_by("submitted_at", "id"):
        a.video_id = video_of[a.task_id]
        if a.source == Source.GOLD:
            gold[a.task_id] = a
        else:
            accepted[a.task_id].append(a)
    exposed = exposed_annotations([a for rows in accepted.values() for a in rows])
    return {t.pk: _select(project, gold.get(t.pk), accepted[t.pk], exposed) for t in tasks}


def truth_inputs(task: Task, content: bool = True) -> TruthInputs:
    return _inputs_of_tasks(task.project, [task], content)[task.pk]


def ground_truth_versions(
    project: Project, video_ids: list[int] | None = None
) -> dict[int, TruthInputs]:
    """The current :class:`TruthInputs` (no annotation content) of the videos of ``project``
    (all, or ``video_ids``), by video id: what stored scores' provenance is compared with."""
    tasks = Task.objects.filter(project=project).only("id", "video_id", "project_id")
    if video_ids is not None:
        tasks = tasks.filter(video_id__in=list(video_ids))
    tasks = list(tasks)
    inputs = _inputs_of_tasks(project, tasks, content=False)
    return {t.video_id: inputs[t.pk] for t in tasks}


def refresh_task_quality(task: Task) -> Task:
    """Recompute a video's agreement from its accepted annotations; flag it when agreement is
    below the project's threshold, and once it has all its annotators let one more annotator
    work on it (up to ``max_overlap``)."""
    task = Task.objects.select_related("project", "video").get(pk=task.pk)
    project = task.project
    annotations = [annotation_of(a) for a in _accepted(task)]
    score = consensus_math.agreement(annotations, geometry_of(task.video).n_frames)["overall"]
    flagged = score is not None and score < project.agreement_threshold
    extra = task.extra_overlap
    crowd_accepted = Assignment.objects.filter(
        task=task, status=Status.ACCEPTED, source=Source.CROWD
    ).count()
    if (
        flagged
        and not task.is_gold
        and crowd_accepted >= task.required
        and task.required < project.max_overlap
    ):
        extra += 1
    Task.objects.filter(pk=task.pk).update(agreement=score, flagged=flagged, extra_overlap=extra)
    task.agreement, task.flagged, task.extra_overlap = score, flagged, extra
    return task


def _task_of(project: Project, video: Video) -> Task:
    task = (
        Task.objects.select_related("project", "video").filter(project=project, video=video).first()
    )
    if task is None:
        raise NotFound(f"Video {video.pk} is not in project {project.pk}.")
    return task


def _truth_annotations(task: Task) -> tuple[list[dict], str, TruthInputs]:
    """What a video's ground truth is made of: (annotations, source, inputs)."""
    inputs = truth_inputs(task)
    if inputs.gold is not None:
        return [annotation_of(inputs.gold)], "gold", inputs
    annotations = [annotation_of(a) for a in inputs.used]
    return annotations, inputs.source, inputs


def ground_truth_for_video(project: Project, video: Video, label: str | None = None) -> dict:
    """The ground truth pointing games score against, for one video of a project.

    Returns::

        {
          "project": int, "video": int, "task": int,
          "label": str,                      # the task's class (the label it localizes)
          "labels": [str, ...],              # labels that have evidence here (sorted)
          "width": int, "height": int,       # source display pixels (box coordinates)
          "fps": float | None, "duration": float | None, "n_frames": int,
          "source": "gold" | "consensus" | "none",
          "annotations": int,                # accepted annotations used (gold: 1)
          "excluded_annotations": int,       # accepted ones left out (annotator exposed)
          "exclude_exposed": bool,           # the project's setting
          "version": str,                    # hash of the inputs' ids and revisions
          "agreement": float | None,         # mean pairwise agreement (None below 2)
          "flagged": bool,                   # agreement below the project's threshold
          "frames": [                        # every frame of the playback file, in order
            {"frame": int, "time": float,    # index into frame_timestamps, and its seconds
             "boxes": [[x0, y0, x1, y1], ...],    # closed rectangles; [] = no box
             "labels": [str, ...]},               # the label of each box, in the same order
            ...
          ],
          "when": {"visual": [[start, end], ...], "sound": [[start, end], ...]},  # seconds
          "when_labels": {"visual": [str, ...], "sound": [str, ...]},  # label of each segment
        }

    A gold item's known answer is its ground truth; otherwise the consensus of its accepted
    annotations (crowd and imported; less those of annotators exposed to the video's
    explanations when the project excludes them), computed label by label (see
    :mod:`wherewhen.annotations.consensus`). With ``label``, only that label's evidence is
    listed (``labels`` then says whether it has any). Raises :class:`NotFound` when the video
    is not in the project.
    """
    task = _task_of(project, video)
    geometry = geometry_of(video)
    annotations, source, inputs = _truth_annotations(task)
    fused = consensus_math.consensus(annotations, geometry.n_frames)
    if label is not None:
        fused = {label: fused[label]} if label in fused else {}
    score = consensus_math.agreement(annotations, geometry.n_frames)["overall"]
    frames = [
        {"frame": i, "time": t, "boxes": [], "labels": []}
        for i, t in enumerate(geometry.timestamps)
    ]
    when: dict[str, list] = {kind: [] for kind in SEGMENT_KINDS}
    when_labels: dict[str, list] = {kind: [] for kind in SEGMENT_KINDS}
    present = []
    for name in sorted(fused):
        evidence = fused[name]
        has = False
        for i, boxes in enumerate(evidence["frames"]):
            for box in boxes:
                frames[i]["boxes"].append(list(box))
                frames[i]["labels"].append(name)
                has = True
        for kind, segments in evidence["when"].items():
            for segment in segments:
                when[kind].append(list(segment))
                when_labels[kind].append(name)
                has = True
        if has:
            present.append(name)
    return {
        "project": project.pk,
        "video": video.pk,
        "task": task.pk,
        "label": task.label,
        "labels": present,
        "width": geometry.width,
        "height": geometry.height,
        "fps": video.fps,
        "duration": video.duration,
        "n_frames": geometry.n_frames,
        "source": source,
        "annotations": len(annotations),
        "excluded_annotations": len(inputs.excluded),
        "exclude_exposed": project.exclude_exposed,
        "version": inputs.version,
        "agreement": score,
        "flagged": task.flagged,
        "frames": frames,
        "when": when,
        "when_labels": when_labels,
    }


def video_evidence(project: Project, video: Video) -> VideoEvidence | None:
    """The references of ``video`` in ``project``: its ground truth label by label (a gold
    item's known answer, else the consensus of its accepted annotations) and every accepted
    annotation (crowd and imported). None when the video is not in the project. This is what
    scoring reads of annotations."""
    task = Task.objects.select_related("project", "video").filter(project=project, video=video)
    task = task.first()
    if task is None:
        return None
    geometry = geometry_of(video)
    annotations, source, inputs = _truth_annotations(task)
    fused = consensus_math.consensus(annotations, geometry.n_frames)
    known = project_labels(project)
    known += [label for label in sorted(fused) if label not in known]
    return VideoEvidence(
        project_id=project.pk,
        video_id=video.pk,
        task_label=task.label,
        source=source,
        width=geometry.width,
        height=geometry.height,
        times=geometry.timestamps,
        consensus=fused,
        annotations=[(a.pk, annotation_of(a)) for a in inputs.used] if source != "none" else [],
        known_labels=known,
        class_map=dict(project.class_map or {}),
        version=inputs.version,
        used=inputs.n_used,
        excluded=len(inputs.excluded),
    )


def project_progress(project: Project, now: datetime | None = None) -> dict:
    """Counts for a researcher's progress view."""
    now = now or timezone.now()
    crowd = Assignment.objects.filter(task__project=project, source=Source.CROWD)
    counts = dict(crowd.values_list("status").annotate(n=Count("id")).order_by())
    live_in_progress = crowd.filter(status=Status.IN_PROGRESS, lease_expires_at__gt=now).count()
    tasks = project.tasks.filter(is_gold=False).annotate(
        accepted=Count(
            "assignments",
            filter=Q(assignments__status=Status.ACCEPTED, assignments__source=Source.CROWD),
        )
    )
    return {
        "videos": tasks.count(),
        "gold_items": project.tasks.filter(is_gold=True).count(),
        "videos_done": tasks.filter(
            accepted__gte=F("project__overlap") + F("extra_overlap")
        ).count(),
        "flagged": tasks.filter(flagged=True).count(),
        "in_progress": live_in_progress,
        "expired": counts.get(Status.EXPIRED, 0)
        + counts.get(Status.IN_PROGRESS, 0)
        - live_in_progress,
        "submitted": counts.get(Status.SUBMITTED, 0),
        "accepted": counts.get(Status.ACCEPTED, 0),
        "rejected": counts.get(Status.REJECTED, 0),
    }


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def project_quality(project: Project) -> dict:
    """Per annotator: work counts and accuracy on gold (box IoU, segment IoU); per video:
    accepted annotations, agreement and whether it is flagged."""
    tasks = list(project.tasks.select_related("video").order_by("id"))
    geometries = {t.pk: geometry_of(t.video) for t in tasks}
    gold_answers = {
        a.task_id: annotation_of(a)
        for a in with_content(Assignment.objects.filter(task__project=project, source=Source.GOLD))
    }
    crowd = with_content(
        Assignment.objects.filter(task__project=project, source=Source.CROWD)
        .select_related("annotator")
        .order_by("annotator_id", "id")
    )
    per_annotator: dict[int, dict] = {}
    for a in crowd:
        row = per_annotator.setdefault(
            a.annotator_id,
            {
                "annotator": {"id": a.annotator_id, "username": a.annotator.username},
                "in_progress": 0,
                "submitted": 0,
                "accepted": 0,
                "rejected": 0,
                "expired": 0,
                "gold_items": 0,
                "_box": [],
                "_segment": [],
            },
        )
        row[a.status] = row.get(a.status, 0) + 1
        if a.task_id in gold_answers and a.status in (
            Status.SUBMITTED,
            Status.ACCEPTED,
            Status.REJECTED,
        ):
            score = consensus_math.compare_to_reference(
                annotation_of(a), gold_answers[a.task_id], geometries[a.task_id].n_frames
            )
            row["gold_items"] += 1
            row["_box"].append(score["box_iou"])
            row["_segment"].append(score["segment_iou"])
    annotators = []
    for row in per_annotator.values():
        row["gold_box_iou"] = _mean(row.pop("_box"))
        row["gold_segment_iou"] = _mean(row.pop("_segment"))
        annotators.append(row)
    accepted = dict(
        Assignment.objects.filter(
            task__project=project, status=Status.ACCEPTED, source=Source.CROWD
        )
        .values_list("task")
        .annotate(n=Count("id"))
        .order_by()
    )
    videos = [
        {
            "task": t.pk,
            "video": t.video_id,
            "title": t.video.title,
            "is_gold": t.is_gold,
            "accepted": accepted.get(t.pk, 0),
            "required": t.required,
            "agreement": t.agreement,
            "flagged": t.flagged,
        }
        for t in tasks
    ]
    return {
        "annotators": annotators,
        "videos": videos,
        "agreement_threshold": project.agreement_threshold,
    }


# --- gold feedback and qualification ----------------------------------------------------------


def _boundary_error(annotation: dict, reference: dict) -> float | None:
    """Mean distance (seconds) between the known segments' bounds and the annotator's segment
    of the same kind and label that overlaps each most (or lies nearest); None when the answer
    has no segment. A known segment the annotator did not mark at all is left out here (its
    segment IoU shows it)."""
    errors = []
    for known in reference.get("segments", []):
        mine = [
            s
            for s in annotation.get("segments", [])
            if s["kind"] == known["kind"] and s.get("label") == known.get("label")
        ]
        if not mine:
            continue

        def distance(s: dict, known: dict = known) -> float:
            return abs(s["start"] - known["start"]) + abs(s["end"] - known["end"])

        best = min(mine, key=distance)
        errors.append(distance(best) / 2)
    return sum(errors) / len(errors) if errors else None


def gold_feedback(task: Task, annotation: dict, annotator_id: int) -> dict:
    """How ``annotation`` of gold item ``task`` compares with the known answer: box IoU,
    segment IoU, mean boundary error in seconds, whether it passed (both IoUs, where the answer
    has them, reach the project's ``gold_pass_iou``), and the annotator's running accuracy on the
    project's gold items (this one included)."""
    gold = with_content(Assignment.objects.filter(task=task, source=Source.GOLD)).first()
    if gold is None:
        return {}
    project = task.project
    score = consensus_math.compare_to_reference(
        annotation, annotation_of(gold), geometry_of(task.video).n_frames
    )
    ious = [v for v in (score["box_iou"], score["segment_iou"]) if v is not None]
    passed = bool(ious) and all(v >= project.gold_pass_iou for v in ious)
    earlier = (
        Assignment.objects.filter(
            annotator_id=annotator_id, task__project=project, task__is_gold=True
        )
        .exclude(task=task)
        .exclude(gold_feedback={})
        .values_list("gold_feedback", flat=True)
    )
    outcomes = [bool(f.get("passed")) for f in earlier] + [passed]
    return {
        "box_iou": score["box_iou"],
        "segment_iou": score["segment_iou"],
        "boundary_error": _boundary_error(annotation, annotation_of(gold)),
        "passed": passed,
        "pass_iou": project.gold_pass_iou,
        "gold_done": len(outcomes),
        "gold_passed": sum(outcomes),
        "running_accuracy": sum(outcomes) / len(outcomes),
    }


def gold_passed(annotator_id: int, project: Project) -> int:
    """How many of ``project``'s gold items the annotator passed."""
    return Assignment.objects.filter(
        annotator_id=annotator_id,
        task__project=project,
        task__is_gold=True,
        gold_feedback__passed=True,
    ).count()


def is_qualified(annotator_id: int, project: Project) -> bool:
    """Whether the annotator may do real work: the project asks no qualification, or they
    passed its ``qualification_gold`` gold items."""
    need = project.qualification_gold
    return not need or gold_passed(annotator_id, project) >= need
