"""Boxes, tracks and segments as plain data: validation (:mod:`.validation`), interpolation
(:mod:`.tracks`) and overlap measures (:mod:`.overlap`). Callers use this package's names.

Nothing here touches the database, so the rules can be tested (and reused by exporters and the
consensus code) on plain dicts.

Conventions (the same as the pointing games use):

* A **box** is a closed rectangle ``[x0, x1] x [y0, y1]`` in source-video display pixels.
  Coordinates are kept to 0.01 px (the precision of CVAT's XML), so exporting and importing a
  box gives back exactly the same numbers.
* Frames are indexed by the video's ``frame_timestamps``: frame ``i`` is shown at
  ``frame_timestamps[i]`` seconds.
* A **track** is one object followed over time, given by **keyframes**. Between two keyframes
  the box is interpolated linearly (CVAT's rule: the interpolated frames copy the flags and the
  attributes of the keyframe before them). A keyframe marked ``outside`` ends the track until
  the next keyframe; after the last keyframe the box stays where it is until the end of the
  video, unless that keyframe is ``outside``. A keyframe may carry **attributes** (CVAT's
  per-box attributes, name -> text).
* A **segment** ``[start, end]`` (seconds, closed) says when the visual event (``kind="visual"``)
  or its sound (``kind="sound"``) of one label happens. Segments of one kind and label never
  overlap (two labels' events may).
* Every track and every segment carries a **label** (an annotation label of the project); a
  missing one takes the task's label. Nothing downstream ever merges two labels' evidence.
"""

from wherewhen.annotations.geometry.overlap import (
    box_iou,
    frame_set_iou,
    match_boxes,
    segment_iou,
    spatial_iou,
    union_intervals,
)
from wherewhen.annotations.geometry.tracks import (
    frame_boxes,
    labels_of,
    lerp_box,
    snap_to_frames,
    stored_shapes,
    track_boxes,
    track_shapes,
)
from wherewhen.annotations.geometry.validation import (
    COORDINATE_DECIMALS,
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_LABEL_LENGTH,
    MAX_SEGMENTS,
    MAX_TRACKS,
    RESERVED_ATTRIBUTES,
    SEGMENT_KINDS,
    TIME_TOLERANCE,
    Box,
    InvalidAnnotation,
    VideoGeometry,
    box_problems,
    clean_annotation,
    is_empty,
    quantize,
)

__all__ = [
    "COORDINATE_DECIMALS",
    "MAX_ATTRIBUTES",
    "MAX_ATTRIBUTE_VALUE_LENGTH",
    "MAX_LABEL_LENGTH",
    "MAX_SEGMENTS",
    "MAX_TRACKS",
    "RESERVED_ATTRIBUTES",
    "SEGMENT_KINDS",
    "TIME_TOLERANCE",
    "Box",
    "InvalidAnnotation",
    "VideoGeometry",
    "box_iou",
    "box_problems",
    "clean_annotation",
    "frame_boxes",
    "frame_set_iou",
    "is_empty",
    "labels_of",
    "lerp_box",
    "match_boxes",
    "quantize",
    "segment_iou",
    "spatial_iou",
    "track_boxes",
    "snap_to_frames",
    "stored_shapes",
    "track_shapes",
    "union_intervals",
]
