"""Demo data of the video library: two short generated clips for the demo researcher.

Made with ffmpeg's built-in sources (no download), queued for the media worker like any upload,
and created once: a second run finds them by name and changes nothing.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from wherewhen.accounts.models import User
from wherewhen.videos import services
from wherewhen.videos.models import Video
from workers.video.tools import ffmpeg_exe

DEMO_OWNER = "researcher"
DEMO_DATASET = "demo"
DEMO_CLIPS = [
    (
        "demo test pattern.mp4",
        "pattern",
        ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-c:a", "aac", "-shortest"],
    ),
    (
        "demo game of life.mp4",
        "life",
        ["-f", "lavfi", "-i", "life=size=320x240:rate=15:seed=7:mold=10:life_color=#00ccff"
         ":death_color=#003344,trim=duration=4"],
    ),
]  # fmt: skip


def seed_demo(stdout=None) -> None:
    owner = User.objects.filter(username=DEMO_OWNER).first()
    if owner is None:
        return
    made = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, label, source in DEMO_CLIPS:
            if Video.objects.filter(owner=owner, original_name=name).exists():
                continue
            path = Path(tmp) / name
            cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *source,
                   "-c:v", "libx264", "-pix_fmt", "yuv420p", "-threads", "1", str(path)]  # fmt: skip
            if subprocess.run(cmd, capture_output=True).returncode != 0:
                continue
            services.ingest_file(
                owner=owner, path=path, original_name=name, label=label, dataset=DEMO_DATASET
            )
            made += 1
    if stdout is not None and made:
        stdout.write(f"Demo videos added to the library: {made} (queued for processing).")
