"""Crowd annotation as plain functions; views and other apps call these (as
``services.<name>``, from this package, never from its modules) and stay thin.

=============  ===============================================================================
module         what it holds
=============  ===============================================================================
``access``     who sees what: projects, tasks and assignments visible to a user, the projects
               open to an annotator, who may watch a video, who reviews
``content``    a video's geometry, checking an annotation against its task, writing and reading
               stored annotations, a gold item's known answer
``projects``   adding videos to a project, more annotators for a video, the project's labels
               and how a model's classes map to them
``exposure``   who saw explanations of which videos (review player, studies, projects that
               show predictions) and which annotations that leaves out of the ground truth
``quality``    consensus-based: agreement and flags, a video's ground truth, the evidence
               scoring reads, progress and quality reports
``queue``      the annotator's next task: leases, the pick-and-lock of a free slot
``work``       an assignment held: resume, release, drafts, submission
``tracking``   assisted tracking: a box followed forward or backward, proposals, progress,
               cancel (short runs in the request, long ones on the ``media`` queue)
``reviewing``  accepting or rejecting submitted annotations (``review``), the reviewers'
               queue with leases (``next_review``, ``release_review``)
``exchange``   known ground truth coming in (from code or a CVAT file) and exports (CVAT XML,
               COCO-style JSON, CSV)
=============  ===============================================================================

Each module imports only modules above it in this list, so the package has no import cycle.
Services raise the domain errors of :mod:`wherewhen.core.exceptions` (``Invalid``,
``NotAllowed``, ``NotFound``, ``Conflict``); the API's one exception handler turns them into
400, 403, 404 and 409.
"""

from wherewhen.annotations.evidence import BaselinePair, LabelEvidence, VideoEvidence
from wherewhen.annotations.geometry import (
    InvalidAnnotation,
    clean_annotation,
    track_boxes,
    track_shapes,
)
from wherewhen.annotations.labels import LabelChoice
from wherewhen.annotations.services.access import (
    HOLDING,
    annotator_may_watch,
    assignments_visible_to,
    can_review,
    open_projects_for,
    projects_visible_to,
    tasks_visible_to,
    user_can_view_video,
)
from wherewhen.annotations.services.content import (
    annotation_of,
    clean_for_task,
    geometry_of,
    set_gold_answer,
    task_labels,
    with_content,
    write_annotation,
)
from wherewhen.annotations.services.exchange import (
    CvatImport,
    ExportFile,
    export_assignment_cvat,
    export_project,
    import_cvat,
    import_ground_truth,
)
from wherewhen.annotations.services.exposure import (
    Source as ExposureSource,
)
from wherewhen.annotations.services.exposure import (
    assignment_started,
    exposed_annotations,
    record_exposure,
    record_exposures,
)
from wherewhen.annotations.services.projects import (
    add_videos,
    class_choices,
    project_labels,
    request_more_annotators,
)
from wherewhen.annotations.services.quality import (
    TruthInputs,
    gold_feedback,
    ground_truth_for_video,
    ground_truth_versions,
    is_qualified,
    project_progress,
    project_quality,
    refresh_task_quality,
    video_evidence,
)
from wherewhen.annotations.services.queue import (
    expire_leases,
    live_q,
    next_task,
    work_available,
)
from wherewhen.annotations.services.reviewing import next_review, release_review, review
from wherewhen.annotations.services.tracking import (
    IN_PROCESS_FRAMES,
    TRACK_TASK,
    cancel_tracking,
    run_tracking,
    start_tracking,
    tracking_job,
)
from wherewhen.annotations.services.work import release, resume, save_draft, submit

# The public surface (the geometry, evidence and label types are re-exported for scoring and
# benchmarks).
__all__ = [
    "annotator_may_watch",
    "assignment_started",
    "ExposureSource",
    "exposed_annotations",
    "record_exposure",
    "record_exposures",
    "TruthInputs",
    "ground_truth_versions",
    "CvatImport",
    "IN_PROCESS_FRAMES",
    "TRACK_TASK",
    "cancel_tracking",
    "run_tracking",
    "start_tracking",
    "tracking_job",
    "ExportFile",
    "HOLDING",
    "InvalidAnnotation",
    "add_videos",
    "annotation_of",
    "BaselinePair",
    "LabelChoice",
    "LabelEvidence",
    "VideoEvidence",
    "assignments_visible_to",
    "can_review",
    "class_choices",
    "clean_annotation",
    "clean_for_task",
    "expire_leases",
    "export_assignment_cvat",
    "export_project",
    "geometry_of",
    "gold_feedback",
    "is_qualified",
    "ground_truth_for_video",
    "import_cvat",
    "import_ground_truth",
    "live_q",
    "next_task",
    "open_projects_for",
    "project_progress",
    "project_quality",
    "project_labels",
    "projects_visible_to",
    "refresh_task_quality",
    "release",
    "request_more_annotators",
    "resume",
    "review",
    "next_review",
    "release_review",
    "save_draft",
    "set_gold_answer",
    "submit",
    "task_labels",
    "tasks_visible_to",
    "track_boxes",
    "track_shapes",
    "user_can_view_video",
    "video_evidence",
    "with_content",
    "work_available",
    "write_annotation",
]
