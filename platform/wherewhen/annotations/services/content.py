"""Annotation content in the database: a video's geometry, checking an annotation against its
task, writing and reading the tracks, keyframes and segments of an assignment, and a gold
item's known answer.

An annotation travels as the dict :func:`wherewhen.annotations.geometry.clean_annotation`
gives: ``{"tracks": [{"label", "keyframes": [...]}], "segments": [{"kind", "label", "start",
"end"}]}``; :func:`write_annotation` stores it and :func:`annotation_of` reads it back in the
same shape.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from wherewhen.annotations.geometry import (
    SEGMENT_KINDS,
    InvalidAnnotation,
    VideoGeometry,
    clean_annotation,
    is_empty,
    snap_to_frames,
)
from wherewhen.annotations.models import Assignment, Keyframe, Segment, Task, Track
from wherewhen.core.exceptions import Invalid
from wherewhen.videos.models import Video

Status = Assignment.Status
Source = Assignment.Source


def geometry_of(video: Video) -> VideoGeometry:
    """Width, height and frame timestamps of a video (timestamps from ``frame_timestamps``,
    else evenly spaced from ``fps`` and ``frame_count``)."""
    timestamps = tuple(float(t) for t in (video.frame_timestamps or []))
    if not timestamps and video.frame_count and video.fps:
        timestamps = tuple(i / video.fps for i in range(video.frame_count))
    return VideoGeometry(
        width=int(video.width or 0),
        height=int(video.height or 0),
        timestamps=timestamps,
        duration=float(video.duration or 0.0),
    )


def task_labels(task: Task) -> list[str]:
    labels = list(task.project.labels or [])
    if labels and task.label and task.label not in labels:
        labels.append(task.label)
    return labels


def clean_for_task(task: Task, payload: object, *, allow_instant_segments: bool = False) -> dict:
    """Validate an annotation of ``task``'s video (raises :class:`Invalid`, every problem by
    field). When the project snaps segments, an annotator's "when" segments are moved out to
    frame boundaries (imported ground truth, ``allow_instant_segments``, is kept as it is)."""
    geometry = geometry_of(task.video)
    try:
        cleaned = clean_annotation(
            payload,
            geometry,
            labels=task_labels(task),
            default_label=task.label,
            allow_instant_segments=allow_instant_segments,
        )
    except InvalidAnnotation as error:
        raise Invalid(error.errors) from None
    if task.project.snap_segments and not allow_instant_segments:
        for segment in cleaned["segments"]:
            segment["start"], segment["end"] = snap_to_frames(
                segment["start"], segment["end"], geometry.timestamps, geometry.end_time
            )
    return cleaned


def write_annotation(assignment: Assignment, cleaned: dict) -> None:
    """Replace an assignment's stored tracks, keyframes and segments with ``cleaned``."""
    assignment.tracks.all().delete()
    assignment.segments.all().delete()
    keyframes = []
    for order, track in enumerate(cleaned["tracks"]):
        row = Track.objects.create(assignment=assignment, label=track["label"], order=order)
        keyframes.extend(
            Keyframe(
                track=row,
                frame=kf["frame"],
                x0=kf["x0"],
                y0=kf["y0"],
                x1=kf["x1"],
                y1=kf["y1"],
                outside=kf["outside"],
                occluded=kf["occluded"],
                attributes=kf.get("attributes") or {},
                tracked=bool(kf.get("tracked")),
                hold=bool(kf.get("hold")),
            )
            for kf in track["keyframes"]
        )
    Keyframe.objects.bulk_create(keyframes)
    Segment.objects.bulk_create(
        Segment(
            assignment=assignment,
            kind=s["kind"],
            label=s.get("label") or "",
            start=s["start"],
            end=s["end"],
        )
        for s in cleaned["segments"]
    )


def with_content(qs: QuerySet[Assignment]) -> QuerySet[Assignment]:
    return qs.prefetch_related(
        Prefetch("tracks", queryset=Track.objects.prefetch_related("keyframes")), "segments"
    )


def _keyframe_dict(kf: Keyframe) -> dict:
    out = {
        "frame": kf.frame,
        "x0": kf.x0,
        "y0": kf.y0,
        "x1": kf.x1,
        "y1": kf.y1,
        "outside": kf.outside,
        "occluded": kf.occluded,
    }
    if kf.attributes:
        # As clean_annotation gives it: only when the box has some, names in order.
        out["attributes"] = {name: kf.attributes[name] for name in sorted(kf.attributes)}
    if kf.tracked:
        out["tracked"] = True
    if kf.hold:
        out["hold"] = True
    return out


def annotation_of(assignment: Assignment) -> dict:
    """The stored (submitted) annotation: ``{"tracks": [...], "segments": [...]}``, in the
    shape :func:`clean_annotation` gives (a keyframe's ``attributes`` only when it has some)."""
    return {
        "tracks": [
            {
                "label": track.label,
                "keyframes": [_keyframe_dict(kf) for kf in track.keyframes.all()],
            }
            for track in assignment.tracks.all()
        ],
        "segments": [
            {"kind": s.kind, "label": s.label, "start": s.start, "end": s.end}
            for s in sorted(
                assignment.segments.all(),
                key=lambda s: (SEGMENT_KINDS.index(s.kind), s.label, s.start),
            )
        ],
    }


def set_gold_answer(task: Task, payload: object) -> Assignment:
    """Make ``task`` a gold item whose known answer is ``payload`` (replacing an earlier one)."""
    with transaction.atomic():
        cleaned = clean_for_task(task, payload, allow_instant_segments=True)
        if is_empty(cleaned):
            raise Invalid({"detail": ["A gold answer needs at least one box or segment."]})
        Assignment.objects.filter(task=task, source=Source.GOLD).delete()
        now = timezone.now()
        assignment = Assignment.objects.create(
            task=task,
            source=Source.GOLD,
            status=Status.ACCEPTED,
            draft=cleaned,
            submitted_at=now,
            reviewed_at=now,
        )
        write_annotation(assignment, cleaned)
        if not task.is_gold:
            task.is_gold = True
            task.save(update_fields=["is_gold"])
        return assignment
