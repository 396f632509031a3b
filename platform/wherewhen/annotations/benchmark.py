"""Load clips of the synthetic space-time benchmark with their known ground truth.

The generator (``workers.synthetic``) knows exactly where and when the evidence is: the target's
box in every event frame and the event window. This module puts such clips into a researcher's
library (processed at once, so their frame table exists) and stores their ground truth as
accepted annotations of a benchmark project, so scoring can use them like crowd consensus.
Used by the demo data and by ``manage.py load_benchmark``.
"""

from __future__ import annotations

import bisect
import tempfile
from pathlib import Path

from django.db import transaction

from wherewhen.annotations import services
from wherewhen.annotations.models import Project
from wherewhen.videos import services as video_services
from wherewhen.videos.models import Video

BENCHMARK_PROJECT = "Synthetic benchmark (known ground truth)"
BENCHMARK_DATASET = "synthetic benchmark"
BENCHMARK_INSTRUCTIONS = """# Synthetic benchmark
The clips of this project were generated with their ground truth: the box of the object that
flashes the class colour in each event frame (**where**) and the event window (**when**). Its
annotations are imported, not drawn.
"""


def _nearest_frame(frame_times: list[float], t: float) -> int:
    """Index of the playback frame whose timestamp is nearest to ``t`` (ties: the earlier)."""
    i = bisect.bisect_left(frame_times, t)
    if i == 0:
        return 0
    if i == len(frame_times):
        return len(frame_times) - 1
    return i if frame_times[i] - t < t - frame_times[i - 1] else i - 1


def annotation_from_ground_truth(video: Video, gt: dict) -> tuple[list[dict], list[dict]]:
    """(tracks, segments) in the annotation format for a generated clip's ground truth.

    Boxes are matched to the playback frames by timestamp (the transcode keeps the source's
    frame timing, so this is the same frame); every event frame is a keyframe, and the target
    leaves ("outside") on the frame after the event.
    """
    times = list(video.frame_timestamps)
    keyframes = [
        {
            "frame": _nearest_frame(times, box["time"]),
            "x0": box["x0"],
            "y0": box["y0"],
            "x1": box["x1"],
            "y1": box["y1"],
        }
        for box in gt["boxes"]
    ]
    after = keyframes[-1]["frame"] + 1
    if after < len(times):
        keyframes.append({**keyframes[-1], "frame": after, "outside": True})
    tracks = [{"label": gt["label"], "keyframes": keyframes}]
    segments = [{"kind": "visual", "start": gt["when"]["start"], "end": gt["when"]["end"]}]
    if gt.get("sound"):
        segments.append({"kind": "sound", "start": gt["sound"]["start"], "end": gt["sound"]["end"]})
    return tracks, segments


def benchmark_project(owner, classes: list[str]) -> Project:
    project, _ = Project.objects.get_or_create(
        owner=owner,
        name=BENCHMARK_PROJECT,
        defaults={"instructions": BENCHMARK_INSTRUCTIONS, "labels": list(classes), "overlap": 1},
    )
    return project


def load_benchmark(owner, n: int, seed: int = 7, audio: bool = True) -> list[Video]:
    """Generate ``n`` benchmark clips, ingest and process them, import their ground truth.

    Idempotent: clips already in the owner's library (same content) keep their annotation.
    """
    from workers.synthetic import generate_dataset

    videos: list[Video] = []
    if n <= 0:
        return videos
    with tempfile.TemporaryDirectory() as tmp:
        records = generate_dataset(Path(tmp), n=n, seed=seed, audio=audio)
        project = benchmark_project(owner, records[0].ground_truth["classes"] if records else [])
        for record in records:
            outcome = video_services.ingest_file(
                owner=owner,
                path=record.video_path,
                original_name=record.video_path.name,
                title=record.clip_id,
                label=record.label,
                split="test",
                dataset=BENCHMARK_DATASET,
                process="now",
            )
            video = Video.objects.get(pk=outcome.video.pk)
            if video.status != Video.Status.READY:
                continue
            with transaction.atomic():
                if project.tasks.filter(video=video, assignments__source="import").exists():
                    videos.append(video)
                    continue
                tracks, segments = annotation_from_ground_truth(video, record.ground_truth)
                services.import_ground_truth(
                    project, video, tracks, segments, accepted=True, label=record.label
                )
            videos.append(video)
    return videos
