"""Video library benchmark: ingest throughput and clip sampling versus a plain ffmpeg decode.

    .venv/bin/python bench/bench_ingest.py            # default sizes (about a minute)
    .venv/bin/python bench/bench_ingest.py --quick    # smaller inputs

Table 1, the ingest fast path: one generated 720p H.264+AAC MP4 (browser-safe) ingested with the
stream copy (``remux``) and with the copy switched off (``transcode``, what every upload got
before), alternating, in the same run; wall time, seconds of video per wall-clock second ("x real
time"), the CPU seconds spent (this process and its ffmpeg runs: what the machine's load does not
change), and whether both give the same frame table.

Table 2, ingest of every format: for generated sources of several formats and sizes, the whole
media-task pipeline (probe, stream copy or H.264 transcode, one decode pass for frame table,
poster and sprite, waveform) and its throughput in seconds of video processed per wall-clock
second.

Table 3, sampling: ``sample_clip`` (T frames at S x S with exact timestamps) next to the same
frames decoded by one plain ``ffmpeg`` command that already knows the frame numbers
(``select`` + ``scale`` to raw RGB), measured in the same run. Rows: with the frame table stored
at ingest (how the platform samples), without it (one extra decode pass to learn the exact frame
times), and a window late in the video (where sampling seeks instead of decoding from the start).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers.models.spec import InputSpec  # noqa: E402
from workers.video import process_video, read_frame_timestamps, sample_clip  # noqa: E402
from workers.video.sample import uniform_indices, window_frames  # noqa: E402
from workers.video.tools import ffmpeg_exe  # noqa: E402
from workers.video.transcode import select_expression  # noqa: E402


def make_source(folder: Path, name: str, size: str, rate: int, seconds: float, codec: str) -> Path:
    path = folder / name
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}", "-shortest"]  # fmt: skip
    if codec == "h264":
        args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    elif codec == "vp9":
        args += ["-c:v", "libvpx-vp9", "-b:v", "1M", "-deadline", "realtime", "-cpu-used", "8",
                 "-c:a", "libopus"]  # fmt: skip
    elif codec == "mjpeg":
        args += ["-c:v", "mjpeg", "-q:v", "4", "-c:a", "pcm_s16le"]
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args, str(path)],
                   check=True)  # fmt: skip
    return path


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def plain_ffmpeg(path: Path, indices: np.ndarray, size: int) -> np.ndarray:
    """The reference: one ffmpeg command decoding exactly these frames to S x S RGB."""
    wanted = sorted(set(int(i) for i in indices))
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
           "-map", "0:v:0", "-vf", f"select='{select_expression(wanted)}',"
           f"scale={size}:{size}:flags=area,format=rgb24", "-fps_mode", "passthrough",
           "-frames:v", str(len(wanted)), "-f", "rawvideo", "pipe:1"]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(out, np.uint8).reshape(len(wanted), size, size, 3)


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of the ffmpeg runs it waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def fast_path_table(folder: Path, seconds: float, repeats: int) -> None:
    """Table 1: the same 720p H.264 file through the stream copy and through the transcode."""
    path = make_source(folder, "hd.mp4", "1280x720", 30, seconds, "h264")
    walls: dict[bool, list[float]] = {True: [], False: []}
    cpus: dict[bool, list[float]] = {True: [], False: []}
    results = {}
    for _ in range(repeats):
        for allow in (True, False):  # alternating: both see the same machine load
            start, cpu = time.perf_counter(), cpu_seconds()
            results[allow] = process_video(path, folder / f"hd-{allow}", allow_remux=allow)
            walls[allow].append(time.perf_counter() - start)
            cpus[allow].append(cpu_seconds() - cpu)
    same = np.array_equal(results[True].timestamps, results[False].timestamps)
    rows = []
    for allow in (True, False):
        result, wall = results[allow], statistics.median(walls[allow])
        cpu = statistics.median(cpus[allow])
        rows.append([result.playback_plan.method, f"{result.duration:.1f}",
                     str(result.frame_count), f"{wall:.2f}", f"{result.duration / wall:.1f}x",
                     f"{cpu:.2f}", "yes" if same else "NO"])  # fmt: skip
    ratio = statistics.median(walls[False]) / statistics.median(walls[True])
    print_table(
        f"Ingest fast path: 1280x720 30 fps H.264+AAC MP4, median of {repeats} "
        f"(stream copy {ratio:.1f}x faster than the transcode)",
        ["playback", "video s", "frames", "wall s", "x real time", "CPU s", "same frame table"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scale = 0.4 if args.quick else 1.0

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fast_path_table(folder, 10 * scale if args.quick else 20.0, args.repeats)
        sources = [
            ("H.264+AAC MP4", "a.mp4", "640x360", 30, 20 * scale, "h264"),
            ("H.264+AAC MP4", "b.mp4", "1280x720", 30, 10 * scale, "h264"),
            ("VP9+Opus WebM", "c.webm", "640x360", 30, 10 * scale, "vp9"),
            ("MJPEG+PCM AVI", "d.avi", "640x360", 25, 10 * scale, "mjpeg"),
        ]
        rows = []
        total_video = total_wall = 0.0
        for label, name, size, rate, seconds, codec in sources:
            path = make_source(folder, name, size, rate, seconds, codec)
            start = time.perf_counter()
            result = process_video(path, folder / f"out-{name}")
            wall = time.perf_counter() - start
            total_video += result.duration
            total_wall += wall
            rows.append([label, size, f"{rate}", result.playback_plan.method,
                         f"{result.duration:.1f}", str(result.frame_count), f"{wall:.2f}",
                         f"{result.duration / wall:.1f}x"])  # fmt: skip
        rows.append(["all", "", "", "", f"{total_video:.1f}", "", f"{total_wall:.2f}",
                     f"{total_video / total_wall:.1f}x"])  # fmt: skip
        print_table(
            "Ingest of every format (probe + copy or transcode + frame table, poster, sprite + "
            "waveform), one process",
            ["source", "size", "fps", "playback", "video s", "frames", "wall s", "x real time"],
            rows,
        )

        path = make_source(folder, "long.mp4", "640x360", 30, 30 * scale, "h264")
        table = read_frame_timestamps(path).timestamps
        last = float(table[-1])
        cases = []
        for spec in (InputSpec(8, 224, 16), InputSpec(16, 224, 16)):
            cases.append((f"whole video, T={spec.num_frames}", spec, None, None, True))
        cases.append(("whole video, T=8, no table", InputSpec(8, 224, 16), None, None, False))
        late = (last - 2.0, last)
        cases.append(("last 2 s, T=8", InputSpec(8, 224, 16), *late, True))
        rows = []
        for label, spec, start_t, end_t, with_table in cases:
            picks = window_frames(table, start_t, end_t)
            picks = picks[uniform_indices(len(picks), spec.num_frames)]
            ours, clip = timed(
                lambda spec=spec, s=start_t, e=end_t, w=with_table: sample_clip(
                    path, spec, s, e, timestamps=table if w else None
                ),
                args.repeats,
            )
            ref, frames = timed(
                lambda spec=spec, p=picks: plain_ffmpeg(path, p, spec.image_size), args.repeats
            )
            order = np.searchsorted(np.unique(picks), picks)
            same = np.array_equal(clip.frames, frames[order])
            rows.append([label, f"{len(table)}", f"{ours * 1000:.0f}", f"{ref * 1000:.0f}",
                         f"{ours / ref:.2f}", "yes" if same else "no"])  # fmt: skip
        print_table(
            f"Clip sampling at 224 x 224 from a {last:.0f} s 640x360 H.264 video (median of "
            f"{args.repeats})",
            ["case", "frames", "sample_clip ms", "plain ffmpeg ms", "ratio", "same pixels"],
            rows,
        )


if __name__ == "__main__":
    main()
