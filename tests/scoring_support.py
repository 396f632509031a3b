"""Helpers for the scoring tests: done explanations written directly (a map file under
MEDIA_ROOT and a row), ground truth through ``annotations.services.import_ground_truth``.

Videos come from ``tests.annotation_support.make_video``: 160 x 120 pixels, 20 frames at
10 fps (frame i at i/10 s). On a 4 x 4 grid a cell is 40 x 30 pixels, so cell (i, j) points at
((j + 0.5) * 40, (i + 0.5) * 30).
"""

from __future__ import annotations

import uuid

import numpy as np

from tests.annotation_support import make_project, make_video, user  # noqa: F401 - re-exported
from wherewhen.annotations import services as annotation_services
from wherewhen.explanations import storage
from wherewhen.explanations.models import Explanation, RegisteredModel

GRID = (4, 4, 4)
TIMES = [0.0, 0.5, 1.0, 1.5]


def peak_map(cells: list[tuple[int, int]], grid: tuple[int, int, int] = GRID) -> np.ndarray:
    """A (T, h, w) map whose frame t peaks at ``cells[t]`` (value 1, elsewhere 0.1)."""
    heat = np.full(grid, 0.1, dtype=np.float32)
    for t, (i, j) in enumerate(cells):
        heat[t, i, j] = 1.0
    return heat


def make_model(owner, name: str = "tiny") -> RegisteredModel:
    return RegisteredModel.objects.create(
        owner=owner,
        name=name,
        architecture="timesformer",
        checkpoint_dir="/nonexistent",
        labels=["jump", "wave"],
        input_spec={"num_frames": 4, "image_size": 32, "patch_size": 8},
        fingerprint="0" * 64,
        public=True,
    )


def make_explanation(
    video,
    heat: np.ndarray,
    *,
    method: str = "staa",
    model: RegisteredModel | None = None,
    timestamps: list[float] | None = None,
    temporal: list[float] | None = None,
    params: dict | None = None,
    cost: dict | None = None,
) -> Explanation:
    """A done explanation with its float32 map stored like the workers store it."""
    key = uuid.uuid4().hex * 2
    map_file, sha = storage.write_map(key, heat)
    t = heat.shape[0]
    params = params or {}
    return Explanation.objects.create(
        request_key=key,
        video=video,
        model=model,
        method=method,
        params=params,
        params_hash=uuid.uuid5(uuid.NAMESPACE_OID, repr(sorted(params.items()))).hex * 2,
        status=Explanation.Status.DONE,
        progress=1.0,
        map_file=map_file,
        map_sha256=sha,
        grid=list(heat.shape),
        temporal=list(temporal) if temporal is not None else [float(x) for x in range(t)],
        timestamps=list(timestamps) if timestamps is not None else TIMES[:t],
        explained_target=0,
        cost=cost if cost is not None else {"wall_seconds": 0.5, "forward_passes": 1},
        value_range=[float(heat.min()), float(heat.max())],
    )


def box_from(frame: int, box: tuple, until: int | None = None, label: str = "jump") -> dict:
    """A track with ``box`` from ``frame`` on (to the end, or hidden from ``until``)."""
    x0, y0, x1, y1 = box
    keyframes = [{"frame": frame, "x0": x0, "y0": y0, "x1": x1, "y1": y1}]
    if until is not None:
        keyframes.append({"frame": until, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "outside": True})
    return {"label": label, "keyframes": keyframes}


def ground_truth(project, video, tracks: list[dict], visual: tuple | None = (0.5, 1.0)):
    segments = [{"kind": "visual", "start": visual[0], "end": visual[1]}] if visual else []
    return annotation_services.import_ground_truth(project, video, tracks, segments)
