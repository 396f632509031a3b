"""Helpers for the annotation tests: ready videos made directly (no processing pipeline), users,
projects and annotation payloads."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from functools import cache
from pathlib import Path

import imageio_ffmpeg
from django.conf import settings

from wherewhen.accounts.models import Role, User
from wherewhen.annotations.models import Project
from wherewhen.videos.models import Video

WIDTH, HEIGHT, FPS, SECONDS = 160, 120, 10, 2
N_FRAMES = FPS * SECONDS
TIMESTAMPS = [i / FPS for i in range(N_FRAMES)]


@cache
def playback_mp4() -> Path:
    """A 2 s, 10 fps, 160x120 H.264 test pattern, made once per test process."""
    folder = Path(settings.VAR_DIR) / "test-annotation-videos"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"testsrc-{WIDTH}x{HEIGHT}-{FPS}fps-{SECONDS}s.mp4"
    if not path.exists():
        partial = path.with_suffix(f".{uuid.uuid4().hex}.mp4")
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-nostdin",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc=size={WIDTH}x{HEIGHT}:rate={FPS}:duration={SECONDS}",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-g",
                "1",
                "-movflags",
                "+faststart",
                str(partial),
            ],
            check=True,
            capture_output=True,
        )
        partial.replace(path)
    return path


def user(username: str, role: str = Role.ANNOTATOR, password: str | None = None) -> User:
    """A user; without a password (unusable) unless one is given, since hashing is slow."""
    return User.objects.create_user(username, password=password, role=role)


def make_video(
    owner: User, title: str = "clip", *, label: str = "jump", with_file: bool = False
) -> Video:
    """A ready video row (160x120, 20 frames at 10 fps) without running the pipeline."""
    digest = uuid.uuid4().hex * 2
    video = Video.objects.create(
        owner=owner,
        title=title,
        original_name=f"{title}.mp4",
        label=label,
        content_hash=digest,
        size_bytes=1000,
        original=f"videos/{owner.pk}/{digest}/original.mp4",
        status=Video.Status.READY,
        duration=float(SECONDS),
        fps=float(FPS),
        frame_count=N_FRAMES,
        width=WIDTH,
        height=HEIGHT,
        frame_timestamps=list(TIMESTAMPS),
    )
    if with_file:
        name = f"videos/{owner.pk}/{digest}/playback.mp4"
        target = Path(settings.MEDIA_ROOT) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(playback_mp4(), target)
        video.playback = name
        video.save(update_fields=["playback"])
    return video


def synthetic_video(owner: User, scene, title: str = "synthetic") -> Video:
    """A ready video row whose playback file is a synthetic benchmark clip (``scene``), so the
    target's true box is known on every frame."""
    from workers.synthetic import write_mp4

    cfg = scene.config
    digest = uuid.uuid4().hex * 2
    name = f"videos/{owner.pk}/{digest}/playback.mp4"
    write_mp4(Path(settings.MEDIA_ROOT) / name, scene.render_frames(), fps=cfg.fps)
    return Video.objects.create(
        owner=owner,
        title=title,
        original_name=f"{title}.mp4",
        label="jump",
        content_hash=digest,
        size_bytes=1000,
        original=f"videos/{owner.pk}/{digest}/original.mp4",
        playback=name,
        status=Video.Status.READY,
        duration=cfg.num_frames / cfg.fps,
        fps=float(cfg.fps),
        frame_count=cfg.num_frames,
        width=cfg.width,
        height=cfg.height,
        frame_timestamps=[i / cfg.fps for i in range(cfg.num_frames)],
    )


@cache
def long_playback_mp4(frames: int = 500) -> Path:
    """A ``frames``-frame, 25 fps, 640x360 moving test pattern (long enough for a tracking run
    to be caught while it runs), made once per test process."""
    folder = Path(settings.VAR_DIR) / "test-annotation-videos"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"testsrc2-640x360-25fps-{frames}.mp4"
    if not path.exists():
        partial = path.with_suffix(f".{uuid.uuid4().hex}.mp4")
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                *("-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi"),
                *("-i", "testsrc2=size=640x360:rate=25", "-frames:v", str(frames)),
                *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
                str(partial),
            ],
            check=True,
            capture_output=True,
        )
        partial.replace(path)
    return path


def long_video(owner: User, frames: int = 500) -> Video:
    """A ready video row whose playback file is :func:`long_playback_mp4`."""
    digest = uuid.uuid4().hex * 2
    name = f"videos/{owner.pk}/{digest}/playback.mp4"
    target = Path(settings.MEDIA_ROOT) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(long_playback_mp4(frames), target)
    return Video.objects.create(
        owner=owner,
        title="long",
        original_name="long.mp4",
        label="jump",
        content_hash=digest,
        size_bytes=target.stat().st_size,
        original=f"videos/{owner.pk}/{digest}/original.mp4",
        playback=name,
        status=Video.Status.READY,
        duration=frames / 25,
        fps=25.0,
        frame_count=frames,
        width=640,
        height=360,
        frame_timestamps=[i / 25 for i in range(frames)],
    )


def make_project(owner: User, videos: list[Video] = (), **fields) -> Project:
    from wherewhen.annotations import services

    fields.setdefault("name", f"project-{uuid.uuid4().hex[:8]}")
    fields.setdefault("labels", ["jump", "wave"])
    fields.setdefault("overlap", 2)
    fields.setdefault("max_overlap", max(fields["overlap"] + 1, 3))
    fields.setdefault("gold_every", 0)
    project = Project.objects.create(owner=owner, **fields)
    if videos:
        services.add_videos(project, list(videos))
    return project


def box_track(
    first: tuple[int, tuple], second: tuple[int, tuple] | None = None, label: str = "jump"
) -> dict:
    """A track with one or two keyframes ``(frame, (x0, y0, x1, y1))``."""
    keyframes = []
    for frame, (x0, y0, x1, y1) in [first, *([second] if second else [])]:
        keyframes.append({"frame": frame, "x0": x0, "y0": y0, "x1": x1, "y1": y1})
    return {"label": label, "keyframes": keyframes}


def annotation(
    *tracks: dict, visual: tuple | None = (0.5, 1.0), sound: tuple | None = None
) -> dict:
    segments = []
    if visual:
        segments.append({"kind": "visual", "start": visual[0], "end": visual[1]})
    if sound:
        segments.append({"kind": "sound", "start": sound[0], "end": sound[1]})
    return {"tracks": list(tracks), "segments": segments}
