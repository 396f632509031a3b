"""What a map frame, or a participant's click, is scored against: the one rule.

Scoring (stored scores, leaderboards, exports), the review player's hit/miss marks, the
leaderboard's clip drill-down and study pointing trials all ask this module; nothing else picks
a label, a frame, boxes or a tolerance.

* **Label**: the annotation label the explained class maps to (the label rule of
  :mod:`wherewhen.annotations.labels`). Only that label's evidence counts. A class without a
  label, or a video without evidence of that label, is *not scored*, with the reason.
* **Frame**: a map frame (or a click) at ``t`` seconds takes the annotated frame of the playback
  file whose presentation time is nearest to ``t`` (the earlier on a tie), if it lies within half
  a frame interval; otherwise it has no ground truth and is not counted
  (:func:`workers.metrics.grounding.match_source_frames`).
* **Boxes**: that frame's boxes of the label in the reference (the consensus or gold answer, or
  one accepted annotation), in playback pixels.
* **Tolerance**: the project's (:class:`wherewhen.scoring.models.ScoringSettings`).
* **Verdict**: the pointed location is the centre of the maximal cell of the float map (first
  maximum in row-major order) or the click; a hit when it lies in a box or strictly closer than
  the tolerance to one (:mod:`workers.metrics.pointing`). Clients draw these verdicts and
  points; they never recompute a maximum from the quantized map they display.
* **View** (models that centre-crop, :mod:`wherewhen.explanations.framing`): the map's cells
  tile the explanation's view ``[x0, y0, x1, y1]`` (the pointed location is the centre of a cell
  of the view), and a frame whose boxes of the label all lie outside the view (no overlap of
  positive area) is *not seen*: not counted, exactly like a frame without a box, because the
  model never had the object in its input (:mod:`workers.metrics.pointing`). A frame with at
  least one box inside the view is counted against all its boxes. A participant's click on a
  stimulus showing such an explanation follows the same rule: at a frame whose boxes are all
  outside the view its verdict is ``None`` (not counted). Without a view, nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wherewhen.annotations.services import LabelChoice, LabelEvidence, VideoEvidence
from workers.metrics.grounding import match_source_frames
from workers.metrics.pointing import boxes_in_view, points_hit_boxes

Box = list[float]
CONSENSUS = "consensus"
ANNOTATOR = "annotator"
Reference = LabelEvidence  # one set of boxes and segments of one label to score against


@dataclass
class Target:
    """What the explanations of one class on one video are scored against."""

    choice: LabelChoice
    tolerance: float
    width: int
    height: int
    times: np.ndarray  # presentation times of the playback file's frames
    source: str
    references: list[Reference]  # empty when not scored
    reason: str = ""  # why not scored ("" when scored)

    @property
    def label(self) -> str | None:
        return self.choice.label

    @property
    def scored(self) -> bool:
        return not self.reason

    def consensus(self) -> Reference | None:
        return next((r for r in self.references if r.kind == CONSENSUS), None)


def target_for(evidence: VideoEvidence, class_name: str | None, tolerance: float) -> Target:
    """The label, references and tolerance an explanation of ``class_name`` meets on the
    video of ``evidence``."""
    choice = evidence.label_for(class_name)
    target = Target(
        choice=choice,
        tolerance=float(tolerance),
        width=int(evidence.width or 0),
        height=int(evidence.height or 0),
        times=np.asarray(evidence.times, dtype=np.float64),
        source=evidence.source,
        references=[],
    )
    if evidence.source == "none":
        target.reason = "Not scored: the video has no accepted annotations (or gold answer) yet."
    elif not target.width or not target.height or not len(target.times):
        target.reason = "Not scored: the video has no size or frames yet."
    elif choice.label is None:
        target.reason = choice.reason
    elif not evidence.has_evidence(choice.label):
        target.reason = f"Not scored: the video has no evidence labelled '{choice.label}'."
    else:
        target.references = evidence.references(choice.label)
    return target


def match_frames(times: object, frame_times: np.ndarray) -> np.ndarray:
    """The annotated frame each time meets (-1: none within half a frame interval)."""
    stamps = np.asarray(times, dtype=np.float64).reshape(-1)
    if stamps.size == 0:
        return np.zeros(0, dtype=np.int64)
    index, _ok = match_source_frames(stamps, frame_times)
    return index


def boxes_at(reference: Reference, index: np.ndarray) -> list[list[Box]]:
    """The reference's boxes at each matched frame ([] where none matched)."""
    return [reference.frames[k] if k >= 0 else [] for k in np.asarray(index).tolist()]


def view_of(view: object, target: Target) -> list[float] | None:
    """The view an explanation's map is scored with: its stored ``[x0, y0, x1, y1]`` (video
    pixels), None for the whole frame."""
    if view is None:
        return None
    v = [float(x) for x in view]  # type: ignore[union-attr]
    if v == [0.0, 0.0, float(target.width), float(target.height)]:
        return None
    return v


def seen(boxes: list[Box], view: list[float] | None) -> bool:
    """Whether a frame with ``boxes`` has ground truth the model saw: always without a view or
    without boxes; else when some box overlaps the view (positive area)."""
    if view is None or not boxes:
        return True
    b = np.asarray(boxes, dtype=np.float64).reshape(1, -1, 4)
    return bool(boxes_in_view(b, np.ones(b.shape[:2], dtype=bool), view, 1).any())


def frames_seen(
    reference: Reference | None, index: np.ndarray, view: list[float] | None
) -> np.ndarray:
    """:func:`seen` for the boxes at each matched frame (True where none matched)."""
    if reference is None:
        return np.ones(len(index), dtype=bool)
    return np.array([seen(b, view) for b in boxes_at(reference, index)], dtype=bool)


def click_verdict(
    target: Target, x: float, y: float, t: float, view: list[float] | None = None
) -> tuple[bool | None, int | None]:
    """A participant's click at ``(x, y)`` playback pixels, ``t`` seconds: (hit, annotated
    frame). ``None`` when not scored, when that frame has no box of the label, or when its boxes
    all lie outside ``view`` (not seen by the model; a click is counted exactly where a map
    frame would be)."""
    reference = target.consensus()
    if reference is None:
        return None, None
    k = int(match_frames([t], target.times)[0])
    if k < 0:
        return None, None
    boxes = reference.frames[k]
    if not boxes or not seen(boxes, view):
        return None, k
    hit = points_hit_boxes(
        np.array([float(x)]),
        np.array([float(y)]),
        np.asarray(boxes, dtype=np.float64).reshape(1, -1, 4),
        None,
        target.tolerance,
    )
    return bool(hit[0]), k
