"""One decode pass for frame table, sprite and poster gives what the separate passes give."""

from __future__ import annotations

import pytest

from tests.workers.test_video_fastpath import SAFE
from workers.video import read_frame_timestamps
from workers.video.index_pass import index_playback
from workers.video.transcode import write_poster, write_sprite


@pytest.fixture(autouse=True)
def _no_system_ffprobe(monkeypatch):
    monkeypatch.setenv("WHEREWHEN_FFPROBE", "none")


def _separately(path, folder):
    table = read_frame_timestamps(path)
    meta = write_sprite(path, folder / "sprite.jpg", table.timestamps, table.display_size)
    write_poster(path, folder / "poster.jpg", float(table.timestamps[table.count // 10]))
    return table, meta


def _same(one, table, meta, folder) -> None:
    assert one.table.timestamps.tolist() == table.timestamps.tolist()
    assert one.table.durations.tolist() == pytest.approx(table.durations.tolist(), nan_ok=True)
    assert one.table.end_time == table.end_time
    assert one.table.display_size == table.display_size
    assert one.sprite_meta == meta
    assert one.sprite.read_bytes() == (folder / "sprite.jpg").read_bytes()
    assert one.poster.read_bytes() == (folder / "poster.jpg").read_bytes()


@pytest.mark.parametrize("name", ["mp4_h264_aac", "vfr", "rotated", "webm_vp9", "avi_mjpeg"])
def test_one_pass_equals_separate_passes(video_files, tmp_path, name):
    path = video_files[name].path
    one = index_playback(path, tmp_path / "p.jpg", tmp_path / "s.jpg")
    assert one.one_pass
    _same(one, *_separately(path, tmp_path), tmp_path)


def test_a_wrong_frame_count_guess_falls_back_to_separate_passes(tmp_path):
    # Packets the edit list hides are counted but not shown: the guess is too high.
    path = SAFE["cut_mid_gop"](tmp_path)
    one = index_playback(path, tmp_path / "p.jpg", tmp_path / "s.jpg")
    assert not one.one_pass
    _same(one, *_separately(path, tmp_path), tmp_path)
    # A wrong size guess is caught too.
    wrong = index_playback(path, tmp_path / "p.jpg", tmp_path / "s.jpg", display_size=(64, 48))
    assert not wrong.one_pass
    _same(wrong, *_separately(path, tmp_path), tmp_path)
