"""Decoding is fenced: frames over the pixel budget are refused from the header, and every
ffmpeg run has a memory and a CPU-time limit."""

from __future__ import annotations

import pytest

from workers.video import tools
from workers.video.errors import UnsupportedVideoError
from workers.video.probe import DEFAULT_MAX_PIXELS, ProbeResult, require_video


def _claims(width: int, height: int) -> ProbeResult:
    return ProbeResult(
        path="x.mp4", backend="ffmpeg", has_video=True, coded_width=width, coded_height=height
    )


def test_a_frame_over_the_pixel_budget_is_refused():
    with pytest.raises(UnsupportedVideoError, match="67.1 megapixels"):
        require_video(_claims(8192, 8192))
    require_video(_claims(7680, 4320))  # 8K UHD is within the default budget
    assert DEFAULT_MAX_PIXELS == 7680 * 4320


def test_the_pixel_budget_is_configurable():
    with pytest.raises(UnsupportedVideoError, match="at most 0.1 megapixels"):
        require_video(_claims(640, 480), max_pixels=100_000)


def test_every_run_gets_the_limits(monkeypatch):
    monkeypatch.setenv("FFMPEG_MAX_MEMORY_MB", "300")
    monkeypatch.setenv("FFMPEG_MAX_CPU_SECONDS", "7")
    out = tools.run(["sh", "-c", "ulimit -v; ulimit -t"]).stdout.decode().split()
    assert out == [str(300 * 1024), "7"]
    proc = tools.popen(["sh", "-c", "ulimit -v"], stdout=tools.subprocess.PIPE)
    assert proc.communicate()[0].decode().strip() == str(300 * 1024)


def test_zero_lifts_a_limit(monkeypatch):
    monkeypatch.setenv("FFMPEG_MAX_MEMORY_MB", "0")
    monkeypatch.setenv("FFMPEG_MAX_CPU_SECONDS", "0")
    assert tools.resource_limits() == {}


def test_ffmpeg_over_its_memory_limit_fails_instead_of_growing(monkeypatch):
    monkeypatch.setenv("FFMPEG_MAX_MEMORY_MB", "8")
    proc = tools.run([tools.ffmpeg_exe(), "-hide_banner", "-version"], timeout=60)
    assert proc.returncode != 0


def test_a_run_over_its_cpu_time_is_stopped(monkeypatch):
    monkeypatch.setenv("FFMPEG_MAX_CPU_SECONDS", "1")
    proc = tools.run(["sh", "-c", "while :; do :; done"], timeout=60)
    assert proc.returncode < 0  # killed by SIGXCPU (or SIGKILL at the hard limit)
