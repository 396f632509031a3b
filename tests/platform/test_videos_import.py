"""``manage.py import_videos``: folders and manifests, dedup, escapes refused, progress bar."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.platform.videohelpers import make_user, media_files, record_enqueued
from wherewhen.videos.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    return record_enqueued(monkeypatch)


@pytest.fixture
def rita():
    return make_user("rita")


@pytest.fixture
def library(tmp_path, video_files, bad_video_files) -> Path:
    root = tmp_path / "import root"
    (root / "jump").mkdir(parents=True)
    (root / "sit").mkdir()
    shutil.copy(video_files["mp4_h264"].path, root / "jump" / "a clip.mp4")
    shutil.copy(
        video_files["unicode_name"].path, root / "sit" / video_files["unicode_name"].path.name
    )
    shutil.copy(video_files["webm_vp9"].path, root / "sit" / "b.webm")
    shutil.copy(bad_video_files["not_video"], root / "jump" / "report.mp4")
    (root / "notes.txt").write_text("not a video, not even tried")
    return root


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_videos", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_folder_import_processes_now_and_dedups(rita, library):
    out, err = run("--folder", str(library), "--owner", "rita", "--now", "--labels-from-folders",
                   "--dataset", "pets")  # fmt: skip
    assert "Imported 3 new video(s); 0 already in the library; 1 not imported." in out
    assert "Processed: 3 ready, 0 failed." in out
    assert "report.mp4: not imported: This file is not a video" in err
    assert "Importing" in err  # the progress bar
    videos = {v.original_name: v for v in Video.objects.all()}
    assert set(videos) == {"a clip.mp4", "Ünïcode clip — ½ ✓.mp4", "b.webm"}
    assert videos["a clip.mp4"].label == "jump"
    assert videos["b.webm"].label == "sit"
    assert all(v.status == Video.Status.READY for v in videos.values())
    assert all(v.datasets.filter(name="pets").exists() for v in videos.values())
    again, _ = run("--folder", str(library), "--owner", "rita", "--no-progress")
    assert "Imported 0 new video(s); 3 already in the library; 1 not imported." in again


def test_manifest_import_queues(rita, library, queued, django_capture_on_commit_callbacks):
    manifest = library / "manifest.csv"
    manifest.write_text(
        "path,label,split\njump/a clip.mp4,jump,train\nsit/Ünïcode clip — ½ ✓.mp4,sit,val\n",
        encoding="utf-8",
    )
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run("--manifest", str(manifest), "--owner", "rita", "--no-progress")
    assert "Imported 2 new video(s)" in out
    assert "queued for processing" in out
    videos = {v.original_name: v for v in Video.objects.all()}
    assert (videos["a clip.mp4"].label, videos["a clip.mp4"].split) == ("jump", "train")
    assert videos["Ünïcode clip — ½ ✓.mp4"].split == "val"
    assert sorted(queued) == sorted(v.pk for v in videos.values())
    assert all(v.status == Video.Status.UPLOADED for v in videos.values())


@pytest.mark.parametrize(
    "bad_path",
    ["../outside.mp4", "jump/../../outside.mp4", "/etc/hostname", "link-out/outside.mp4"],
)
def test_manifest_escaping_the_root_imports_nothing(rita, library, tmp_path, video_files, bad_path):
    shutil.copy(video_files["mp4_h264"].path, tmp_path / "outside.mp4")
    (library / "link-out").symlink_to(tmp_path)
    manifest = library / "manifest.csv"
    manifest.write_text(f"path,label\njump/a clip.mp4,ok\n{bad_path},evil\n")
    with pytest.raises(CommandError) as raised:
        run("--manifest", str(manifest), "--owner", "rita", "--root", str(library))
    message = str(raised.value)
    assert "Nothing was imported" in message
    assert f"line 3: {bad_path!r} is outside the import root" in message
    assert Video.objects.count() == 0
    assert media_files() == []


def test_manifest_problems_are_listed(rita, library):
    manifest = library / "m.csv"
    manifest.write_text("path\nmissing.mp4\n\n")
    with pytest.raises(CommandError, match=r"line 2: there is no file at 'missing.mp4'"):
        run("--manifest", str(manifest), "--owner", "rita")
    manifest.write_text("file,label\na.mp4,x\n")
    with pytest.raises(CommandError, match="needs a header row with a 'path' column"):
        run("--manifest", str(manifest), "--owner", "rita")


def test_unknown_owner_and_folder(library):
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        run("--folder", str(library), "--owner", "nobody")
    make_user("rita")
    with pytest.raises(CommandError, match="is not a folder"):
        run("--folder", str(library / "nope"), "--owner", "rita")


def test_seed_demo_adds_demo_videos_once(queued, django_capture_on_commit_callbacks):
    from wherewhen.videos import demo

    make_user("researcher")
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed_demo(stdout=out)
        demo.seed_demo(stdout=out)
    videos = Video.objects.filter(owner__username="researcher")
    assert sorted(v.label for v in videos) == ["life", "pattern"]
    assert all(v.datasets.filter(name="demo").exists() for v in videos)
    assert sorted(queued) == sorted(v.pk for v in videos)
    assert out.getvalue().count("Demo videos added") == 1
