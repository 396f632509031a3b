"""Demo data: one annotation project of the demo researcher over their ready videos.

Idempotent: the project is found by name, and videos already in it are left alone.
"""

from __future__ import annotations

from django.conf import settings

from wherewhen.accounts.models import User
from wherewhen.annotations import services
from wherewhen.annotations.benchmark import BENCHMARK_PROJECT, load_benchmark
from wherewhen.annotations.models import Project
from wherewhen.videos.models import Video

DEMO_PROJECT = "Demo: where and when"
DEMO_INSTRUCTIONS = """# Where and when
Draw a **tight box** around what shows the class, on the first frame it is visible, then move
it on later frames: every frame you touch becomes a keyframe, frames between follow by
themselves.

- Press **I** on the first frame of the event and **O** on its last frame.
- If it makes a sound, mark that too with **Shift+I** and **Shift+O**.
- Press **?** for every shortcut, **Ctrl+Enter** to submit and get the next video.
"""


def seed_demo(stdout=None) -> Project | None:
    owner = User.objects.filter(username="researcher").first()
    if owner is None:
        return None
    benchmark = load_benchmark(owner, n=settings.DEMO_BENCHMARK_CLIPS)
    if stdout is not None:
        stdout.write(
            f"Synthetic benchmark: {len(benchmark)} clip(s) with known ground truth "
            f"in project '{BENCHMARK_PROJECT}'."
        )
    videos = list(
        Video.objects.filter(owner=owner, status=Video.Status.READY)
        .exclude(width=None)
        .order_by("id")
    )
    labels = sorted({v.label for v in videos if v.label}) or ["event"]
    project, created = Project.objects.get_or_create(
        owner=owner,
        name=DEMO_PROJECT,
        defaults={"instructions": DEMO_INSTRUCTIONS, "labels": labels, "overlap": 2},
    )
    missing = [v for v in videos if not project.tasks.filter(video=v).exists()]
    for label in {v.label for v in missing if v.label} - set(project.labels):
        project.labels.append(label)
    if missing:
        project.save(update_fields=["labels"])
        services.add_videos(project, missing)
    if stdout is not None and (created or missing):
        stdout.write(f"Annotation project '{DEMO_PROJECT}': {len(missing)} video(s) added.")
    return project
