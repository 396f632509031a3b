"""Models and explanations as plain functions (the web side: never imports torch). Views,
commands and other apps call these (as ``services.<name>``, from this package, never from its
modules) and stay thin.

=============  ===============================================================================
module         what it holds
=============  ===============================================================================
``access``     who sees, requests and changes what (on :mod:`wherewhen.accounts.access`'s role
               rules), and the video, model or dataset a request names
``registry``   registering checkpoint directories as models, deleting them
``checks``     what a request must satisfy: parameters, a ready video, sound for audio-visual
               models, methods that hear, the target class, the clip
``requests``   the idempotency key, requesting (find or create, queue), requeueing, status, map
``imports``    importing an ``.npz`` made by another tool
``reviewing``  names, flags and exports (overlay MP4, keyframe PNG strip)
``bulk``       bulk runs over a dataset, with their progress and ETA
``truth``      the review player's ground truth with the scoring app's verdicts
=============  ===============================================================================

Each module imports only modules above it in this list, so the package has no import cycle.
The gpu worker's side (claiming, leases, results) is :mod:`wherewhen.explanations.claims`;
video helpers (``local_file``, ``playback_url``) are the videos app's
(:mod:`wherewhen.videos.services`). Services raise the domain errors of
:mod:`wherewhen.core.exceptions` (``Invalid``, ``NotAllowed``, ``NotFound``, ``Conflict``); the
API's one exception handler turns them into 400, 403, 404 and 409. An ``Invalid`` names the
field at fault, ``{field: [message]}``, exactly as the API answers it.
"""

from wherewhen.explanations.claims import explanation_finished
from wherewhen.explanations.services.access import (
    can_change_flag,
    can_edit_model,
    can_import,
    can_rename,
    can_request,
    dataset_for,
    dataset_named,
    model_for,
    user_can_view_video,
    video_for,
    visible_bulk_runs,
    visible_explanations,
    visible_exports,
    visible_flags,
    visible_models,
)
from wherewhen.explanations.services.bulk import bulk_progress, start_bulk_run
from wherewhen.explanations.services.checks import check_clip, no_sound_message
from wherewhen.explanations.services.imports import import_explanation
from wherewhen.explanations.services.registry import delete_model, register_model
from wherewhen.explanations.services.requests import (
    QUEUE_UNREACHABLE,
    STATUS_FIELDS,
    RequestOutcome,
    enqueue_compute,
    map_payload,
    request_explanation,
    request_key,
    requeue,
    require_map,
    send_compute,
    status_of,
)
from wherewhen.explanations.services.reviewing import (
    EXPORT_DEFAULTS,
    add_flag,
    export_file,
    rename,
    request_export,
)
from wherewhen.explanations.services.truth import ground_truth
from wherewhen.explanations.storage import read_map

__all__ = [
    "dataset_named",
    "QUEUE_UNREACHABLE",
    "send_compute",
    "EXPORT_DEFAULTS",
    "RequestOutcome",
    "add_flag",
    "bulk_progress",
    "can_change_flag",
    "can_rename",
    "can_edit_model",
    "can_import",
    "can_request",
    "check_clip",
    "dataset_for",
    "delete_model",
    "enqueue_compute",
    "export_file",
    "ground_truth",
    "import_explanation",
    "map_payload",
    "explanation_finished",
    "model_for",
    "no_sound_message",
    "register_model",
    "rename",
    "request_explanation",
    "request_export",
    "request_key",
    "read_map",
    "require_map",
    "requeue",
    "start_bulk_run",
    "STATUS_FIELDS",
    "status_of",
    "user_can_view_video",
    "video_for",
    "visible_bulk_runs",
    "visible_explanations",
    "visible_exports",
    "visible_flags",
    "visible_models",
]
