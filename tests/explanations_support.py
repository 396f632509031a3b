"""Fixtures shared by the explanation tests: a tiny random checkpoint, ready videos, a fake
broker for API tests that must not reach a real one.

The checkpoint has random weights (explanations need a model, not a good one); videos are made
with ffmpeg and their rows filled the way the video library fills them after processing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

TINY_CONFIG = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}
TINY_LABELS = ["red", "green", "blue", "yellow"]


def write_tiny_checkpoint(directory: Path, seed: int = 0) -> Path:
    """A 4-frame, 32 px, patch-8 TimeSformer with 4 classes (grid 4 x 4 x 4)."""
    import torch

    from workers.models.loader import build_model, save_model
    from workers.models.spec import InputSpec

    torch.manual_seed(seed)
    model = build_model(
        "timesformer",
        InputSpec(num_frames=4, image_size=32, patch_size=8),
        TINY_LABELS,
        **TINY_CONFIG,
    )
    save_model(model, directory)
    return directory


def make_video_file(path: Path, *, seconds: float = 1.0, fps: int = 8, size=(64, 48)) -> Path:
    """A small H.264 MP4: a moving bright square over a gradient (deterministic)."""
    from workers.synthetic.video import write_mp4

    n = int(round(seconds * fps))
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        frames[i, ..., 0] = (xx * 255 // max(w - 1, 1)).astype(np.uint8)
        frames[i, ..., 1] = (yy * 255 // max(h - 1, 1)).astype(np.uint8)
        frames[i, ..., 2] = 40
        x0 = (i * 5) % (w - 12)
        frames[i, 10:22, x0 : x0 + 12] = 255
    return write_mp4(path, frames, fps)


def frame_times(path: Path) -> list[float]:
    from workers.synthetic.video import read_video

    _frames, times = read_video(path)
    return [float(t) for t in times]


def ready_video(
    owner,
    media_root: Path,
    *,
    title: str = "clip",
    seconds: float = 1.0,
    source: Path | None = None,
    **fields,
):
    """A Video row in the state the library leaves it after processing, with real files
    (``source``: a file made beforehand, else a 64 x 48 clip of ``seconds``)."""
    from wherewhen.videos.models import Video

    tmp = source if source is not None else Path(media_root) / "incoming" / f"{title}.mp4"
    if source is None:
        make_video_file(tmp, seconds=seconds)
    data = tmp.read_bytes()
    digest = hashlib.sha256(data + title.encode()).hexdigest()
    folder = Path(media_root) / "videos" / str(owner.pk) / digest
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp, folder / "original.mp4")
    shutil.copy(tmp, folder / "playback.mp4")
    times = frame_times(tmp)
    values = {
        "owner": owner,
        "title": title,
        "original_name": f"{title}.mp4",
        "content_hash": digest,
        "size_bytes": len(data),
        "original": f"videos/{owner.pk}/{digest}/original.mp4",
        "playback": f"videos/{owner.pk}/{digest}/playback.mp4",
        "status": Video.Status.READY,
        "progress": 1.0,
        "duration": round(times[-1] + 1 / 8, 6),
        "fps": 8.0,
        "frame_count": len(times),
        "width": 64,
        "height": 48,
        "video_codec": "h264",
        "frame_timestamps": times,
    }
    values.update(fields)
    return Video.objects.create(**values)


def sized_video(owner, media_root: Path, width: int, height: int, *, title: str = "wide"):
    """A ready ``width`` x ``height`` video (1 s at 8 fps) with real files (e.g. a wide one, of
    which a model that centre-crops sees the middle only)."""
    tmp = Path(media_root) / "incoming" / f"{title}.mp4"
    make_video_file(tmp, seconds=1.0, size=(width, height))
    return ready_video(owner, media_root, title=title, source=tmp, width=width, height=height)


def register_tiny_model(owner, directory: Path, name: str = "tiny", public: bool = False):
    from wherewhen.explanations import services

    return services.register_model(
        owner=owner, name=name, checkpoint_dir=str(directory), public=public
    )


class FakeBroker:
    """Stands in for the Celery app in API tests: records the tasks the web sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list, dict]] = []

    def send_task(self, name, args=None, kwargs=None, **options):
        self.sent.append((name, list(args or []), options))

    def names(self) -> list[str]:
        return [name for name, _args, _opts in self.sent]


def ffprobe_frames(path: Path) -> int:
    """Frames in a video file (decoded by ffmpeg)."""
    from workers.video.tools import ffmpeg_exe

    out = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    frames = [line for line in out.splitlines() if line.startswith("frame=")]
    return int(frames[-1].split("frame=")[1].split()[0]) if frames else 0


# --- pytest fixtures (import them into a test module to use them) ------------------------------


@pytest.fixture(name="tiny_checkpoint", scope="session")
def tiny_checkpoint_fixture(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(name="fake_broker")
def fake_broker_fixture(monkeypatch) -> FakeBroker:
    from wherewhen.core import tasking

    broker = FakeBroker()
    monkeypatch.setattr(tasking, "celery_app", lambda: broker)
    return broker


def _user(username: str, role: str):
    from wherewhen.accounts.models import User

    return User.objects.create_user(username, password=f"{username}-pw-42", role=role)


@pytest.fixture(name="researcher")
def researcher_fixture(db):
    return _user("rita", "researcher")


@pytest.fixture(name="other_researcher")
def other_researcher_fixture(db):
    return _user("olga", "researcher")


@pytest.fixture(name="reviewer")
def reviewer_fixture(db):
    return _user("robin", "reviewer")


@pytest.fixture(name="annotator")
def annotator_fixture(db):
    return _user("alex", "annotator")
