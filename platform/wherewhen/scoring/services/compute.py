"""Scoring explanations: what each explanation is scored against (its class's label, the
references, the annotated frames of its map frames) and the scores themselves, computed by
``workers.metrics`` (one vectorized call for many clips)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import QuerySet

from wherewhen.annotations import services as annotation_services
from wherewhen.annotations.models import Project
from wherewhen.explanations.models import Explanation
from wherewhen.scoring import targets
from wherewhen.scoring.models import (
    ExplanationScore,
)
from wherewhen.scoring.services.config import settings_for
from wherewhen.scoring.sound import sound_hit
from wherewhen.videos.models import Video
from workers.metrics.grounding import (
    DEFAULT_IOU_FRACTION,
    ClipInput,
    score_clips,
)

log = logging.getLogger(__name__)

# Bumped when a definition or the stored shape changes: every key changes, everything is redone.
SCORING_VERSION = 4  # 2: the sound temporal pointing game; 3: per-class labels; 4: views


Reference = ExplanationScore.Reference


def class_name_of(explanation: Explanation) -> str | None:
    """The name of the class ``explanation`` explains (None when its model has no name for it)."""
    model = explanation.model
    target = explanation.explained_target
    if target is None:
        target = explanation.target
    if model is None or target is None:
        return None
    labels = model.labels or []
    return str(labels[target]) if 0 <= target < len(labels) else None


@dataclass
class VideoTruth:
    """The references of one video of a project, with the scoring target of each class."""

    evidence: annotation_services.VideoEvidence
    tolerance: float
    _targets: dict[str | None, targets.Target] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.evidence.source

    @property
    def width(self) -> int:
        return int(self.evidence.width or 0)

    @property
    def height(self) -> int:
        return int(self.evidence.height or 0)

    def target(self, class_name: str | None) -> targets.Target:
        if class_name not in self._targets:
            self._targets[class_name] = targets.target_for(
                self.evidence, class_name, self.tolerance
            )
        return self._targets[class_name]


def video_truth(
    project: Project, video: Video, tolerance: float | None = None
) -> VideoTruth | None:
    """The ground truth of ``video`` in ``project`` (None when the video is not in it)."""
    evidence = annotation_services.video_evidence(project, video)
    if evidence is None:
        return None
    if tolerance is None:
        tolerance = settings_for(project).tolerance
    return VideoTruth(evidence, float(tolerance))


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=float).encode()).hexdigest()


@dataclass
class Prepared:
    """An explanation's inputs against one reference, before the map is read."""

    explanation: Explanation
    target: targets.Target
    reference: targets.Reference | None  # None: not scored (target.reason says why)
    matched: np.ndarray  # annotated frame index per map frame, -1 when none
    key: str
    view: list[float] | None = None  # the rectangle the model saw (None: the whole frame)

    @property
    def kind(self) -> str:
        return self.reference.kind if self.reference is not None else Reference.CONSENSUS

    @property
    def assignment_id(self) -> int | None:
        return self.reference.assignment_id if self.reference is not None else None


def prepare(explanation: Explanation, truth: VideoTruth) -> list[Prepared]:
    """Keys of ``explanation`` against each reference of its class's label (no file is read);
    one not-scored item when its class has no label or the video no evidence of it."""
    class_name = class_name_of(explanation)
    target = truth.target(class_name)
    stamps = [float(t) for t in (explanation.timestamps or [])]
    index = targets.match_frames(stamps, target.times)
    view = targets.view_of(explanation.view, target)
    common = {
        "version": SCORING_VERSION,
        "tolerance": target.tolerance,
        "class": class_name,
        "label": target.label,
        "not_scored": target.reason,
    }
    if not target.scored:
        return [Prepared(explanation, target, None, index, _digest(common))]
    out = []
    for ref in target.references:
        key = _digest(
            {
                **common,
                "iou_fraction": DEFAULT_IOU_FRACTION,
                "map": [explanation.map_file, explanation.map_sha256, explanation.grid],
                "timestamps": stamps,
                "temporal": [float(x) for x in (explanation.temporal or [])],
                "size": [target.width, target.height],
                "frames": [
                    [int(k), b]
                    for k, b in zip(index.tolist(), targets.boxes_at(ref, index), strict=True)
                ],
                "segments": ref.visual,
                "sound_segments": ref.sound,
                "audio": explanation.audio,
                "source": ref.source,
                "view": view,
            }
        )
        out.append(Prepared(explanation, target, ref, index, key, view))
    return out


class ScoreInputError(ValueError):
    pass


def _read_map(explanation: Explanation) -> np.ndarray:
    from wherewhen.explanations import services as explanation_services

    if not explanation.map_file:
        raise ScoreInputError("The explanation has no map file.")
    try:
        heat = explanation_services.read_map(explanation.map_file)
    except (OSError, ValueError) as exc:
        raise ScoreInputError(f"The map file could not be read ({exc}).") from exc
    if heat.ndim != 3:
        raise ScoreInputError(f"The map is shaped {list(heat.shape)}, not (T, h, w).")
    if not np.all(np.isfinite(heat)):
        raise ScoreInputError("The map contains NaN or infinite values.")
    if len(explanation.timestamps or []) != heat.shape[0]:
        raise ScoreInputError(
            f"The map has {heat.shape[0]} frames but {len(explanation.timestamps or [])} "
            "timestamps."
        )
    temporal = explanation.temporal or []
    if temporal and len(temporal) != heat.shape[0]:
        raise ScoreInputError(
            f"The map has {heat.shape[0]} frames but {len(temporal)} temporal importances."
        )
    return heat


def _clip_input(item: Prepared, heat: np.ndarray) -> ClipInput:
    t = heat.shape[0]
    per_frame = targets.boxes_at(item.reference, item.matched)
    k_max = max([len(b) for b in per_frame] + [1])
    boxes = np.zeros((t, k_max, 4))
    mask = np.zeros((t, k_max), dtype=bool)
    for f, frame in enumerate(per_frame):
        if frame:
            boxes[f, : len(frame)] = frame
            mask[f, : len(frame)] = True
    temporal = item.explanation.temporal or [0.0] * t
    return ClipInput(
        map=heat,
        temporal=np.asarray(temporal, dtype=np.float64),
        timestamps=np.asarray(item.explanation.timestamps, dtype=np.float64),
        boxes=boxes,
        box_mask=mask,
        segments=np.asarray(item.reference.visual, dtype=np.float64).reshape(-1, 2),
        source_size=(item.target.width, item.target.height),
        view=tuple(item.view) if item.view is not None else None,
    )


def _base_fields(item: Prepared) -> dict[str, Any]:
    return {
        "key": item.key,
        "tolerance": item.target.tolerance,
        "gt_source": item.reference.source if item.reference is not None else item.target.source,
        "class_name": (item.target.choice.class_name or "")[:200],
        "label": item.target.label or "",
        "not_scored": item.target.reason,
        "frames_counted": 0,
        "frames_hit": 0,
        "small_counted": 0,
        "small_hit": 0,
        "energy_sum": 0.0,
        "iou_sum": 0.0,
        "temporal_hit": None,
        "spacetime_hit": None,
        "sound_hit": None,
        "sparsity": None,
        "frames": [],
        "error": "",
    }


def score_fields(item: Prepared, result) -> dict[str, Any]:
    """The columns of an :class:`ExplanationScore` from a ``ClipScores``."""
    e = item.explanation
    frames = []
    seen = targets.frames_seen(item.reference, item.matched, item.view)
    for t in range(len(item.matched)):
        counted = bool(result.counted[t])
        frames.append(
            {
                "index": t,
                "time": float(e.timestamps[t]),
                "frame": int(item.matched[t]) if item.matched[t] >= 0 else None,
                "counted": counted,
                "seen": bool(seen[t]),
                "hit": bool(result.hit[t]) if counted else None,
                "small": bool(result.small[t]) if counted else None,
                "energy": float(result.energy[t]) if counted else None,
                "iou": float(result.iou[t]) if counted else None,
                "point": [float(result.point[t, 0]), float(result.point[t, 1])],
            }
        )
    counted = result.counted
    small = result.small & counted
    has_temporal = bool(e.temporal)
    return {
        **_base_fields(item),
        "frames_counted": int(counted.sum()),
        "frames_hit": int((result.hit & counted).sum()),
        "small_counted": int(small.sum()),
        "small_hit": int((result.hit & small).sum()),
        "energy_sum": float(result.energy[counted].sum()),
        "iou_sum": float(result.iou[counted].sum()),
        "temporal_hit": result.temporal_hit if has_temporal else None,
        "spacetime_hit": result.spacetime_hit,
        "sound_hit": _sound_hit(e, item.reference),
        "sparsity": result.sparsity,
        "frames": frames,
    }


def _sound_hit(explanation: Explanation, reference: targets.Reference) -> bool | None:
    try:
        return sound_hit(explanation.audio, reference.sound)
    except ValueError as exc:  # a malformed stored curve is not counted (and not fatal)
        log.warning("explanation %s: audio curve not scored: %s", explanation.pk, exc)
        return None


def compute(items: list[Prepared]) -> list[tuple[Prepared, dict]]:
    """Score prepared pairs (each map read once; the clips of one tolerance scored in one
    vectorized batch); not-scored items come back with their reason and nothing read."""
    maps: dict[int, np.ndarray | str] = {}
    for item in items:
        e = item.explanation
        if item.reference is not None and e.pk not in maps:
            try:
                maps[e.pk] = _read_map(e)
            except ScoreInputError as exc:
                maps[e.pk] = str(exc)
    out: list[tuple[Prepared, dict]] = []
    batches: dict[float, list[Prepared]] = {}
    for item in items:
        if item.reference is None:
            out.append((item, _base_fields(item)))
        elif isinstance(maps[item.explanation.pk], str):
            out.append((item, {**_base_fields(item), "error": maps[item.explanation.pk]}))
        else:
            batches.setdefault(item.target.tolerance, []).append(item)
    for tolerance, batch in batches.items():
        results = score_clips(
            [_clip_input(item, maps[item.explanation.pk]) for item in batch], tolerance
        )
        out += [(item, score_fields(item, r)) for item, r in zip(batch, results, strict=True)]
    return out


def done_explanations(video: Video) -> QuerySet[Explanation]:
    return Explanation.objects.filter(video=video, status=Explanation.Status.DONE).exclude(
        map_file=""
    )
