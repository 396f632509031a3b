"""One decode pass over the playback file: the frame table, the thumbnail sprite and the poster.

Ingest used to decode the playback file twice (``showinfo`` for the frame table, then ``select``
for the sprite) and seek once more for the poster. :func:`index_playback` does all three in one
ffmpeg run::

    [0:v:0] showinfo, split=2 -> select(sprite frames), scale, tile -> sprite.jpg
                              -> select(poster frame), scale       -> poster.jpg

``showinfo`` sees every decoded frame, exactly as in
:func:`~workers.video.probe.read_frame_timestamps`, so the frame table is the same. The sprite
and poster frames are chosen by frame number, which needs the frame count before decoding: it is
the number of video packets (one demux pass, no decoding). When the decode disagrees (a packet
that decodes to no frame) or the frame size is not the one expected, the sprite and poster are
made again from the real table by :func:`~workers.video.transcode.write_sprite` and
:func:`~workers.video.transcode.write_poster`, so the outputs never depend on the guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workers.video import tools
from workers.video.errors import VideoError
from workers.video.probe import FrameTable, checked_frame_table, probe
from workers.video.transcode import (
    atomic_output,
    select_expression,
    sprite_layout,
    write_poster,
    write_sprite,
)

POSTER_WIDTH = 640


@dataclass
class PlaybackIndex:
    table: FrameTable
    sprite_meta: dict
    poster: Path
    sprite: Path
    one_pass: bool  # False when sprite and poster had to be made again from the real table


def count_packets(path: Path, timeout: float | None = None) -> int:
    """Packets of the first video stream (a demux pass: nothing is decoded)."""
    cmd = [tools.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
           "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"]  # fmt: skip
    proc = tools.run(cmd, timeout=timeout)
    if proc.returncode != 0:
        raise VideoError(
            f"The playback file's frames could not be listed: {tools.tail(proc.stderr)}"
        )
    return sum(1 for line in proc.stdout.splitlines() if line and not line.startswith(b"#"))


def poster_index(frame_count: int) -> int:
    """The poster is the frame a tenth of the way in."""
    return frame_count // 10


def index_playback(
    playback: str | Path,
    poster_dst: str | Path,
    sprite_dst: str | Path,
    *,
    max_tiles: int = 100,
    tile_width: int = 160,
    display_size: tuple[int, int] | None = None,
    frame_count: int | None = None,
    timeout: float | None = None,
) -> PlaybackIndex:
    """Frame table, sprite and poster of ``playback`` from one decode (no output stops early:
    every frame must reach ``showinfo``). ``display_size`` and ``frame_count`` are what the caller
    expects (a probe and a packet count otherwise); raises like
    :func:`~workers.video.probe.read_frame_timestamps` when the frames cannot be read."""
    playback, poster_dst, sprite_dst = Path(playback), Path(poster_dst), Path(sprite_dst)
    guess = frame_count or count_packets(playback, timeout)  # expected; checked after the decode
    size = display_size or probe(playback).display_size  # expected; checked after the decode
    layout = sprite_layout(max(1, guess), size, max_tiles, tile_width)
    poster_at = poster_index(guess)
    graph = (
        "[0:v:0]showinfo=checksum=0,split=2[all][one];"
        f"[all]select='{select_expression(layout['frame_indices'])}',"
        f"scale={layout['tile_width']}:{layout['tile_height']}:flags=area,"
        f"tile={layout['columns']}x{layout['rows']}[sprite];"
        f"[one]select='eq(n,{poster_at})',scale='min({POSTER_WIDTH},iw)':-2[poster]"
    )
    with (
        atomic_output(sprite_dst, ".jpg") as sprite_tmp,
        atomic_output(poster_dst, ".jpg") as poster_tmp,
    ):
        cmd = [tools.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(playback),
               "-filter_complex", graph,
               "-map", "[sprite]", "-fps_mode", "passthrough", "-q:v", "4",
               "-f", "image2", "-update", "1", "-y", str(sprite_tmp),
               "-map", "[poster]", "-fps_mode", "passthrough", "-q:v", "3",
               "-f", "image2", "-update", "1", "-y", str(poster_tmp)]  # fmt: skip
        proc = tools.run(cmd, timeout=timeout)
        stderr = proc.stderr.decode(errors="replace")
        table = checked_frame_table(playback, proc.returncode, stderr)
        one_pass = (
            proc.returncode == 0
            and table.count == guess
            and table.display_size == size
            and sprite_tmp.stat().st_size > 0
            and poster_tmp.stat().st_size > 0
        )
        if not one_pass:  # the guess was wrong: make both from the real table
            write_sprite(playback, sprite_tmp, table.timestamps, table.display_size,
                         max_tiles=max_tiles, tile_width=tile_width)  # fmt: skip
            at = float(table.timestamps[poster_index(table.count)])
            write_poster(playback, poster_tmp, at, POSTER_WIDTH)
    layout = sprite_layout(table.count, table.display_size, max_tiles, tile_width)
    layout["times"] = [round(float(table.timestamps[i]), 6) for i in layout["frame_indices"]]
    return PlaybackIndex(table, layout, poster_dst, sprite_dst, one_pass)
