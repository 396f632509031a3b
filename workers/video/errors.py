"""Errors of the video pipeline. Every message is written for the person who brought the file."""

from __future__ import annotations


class VideoError(ValueError):
    """A video could not be probed, transcoded or sampled; ``str(exc)`` says why in plain words."""


class NotAVideoError(VideoError):
    """The file is not a video ffmpeg can read (wrong format, empty, no video stream)."""


class DamagedVideoError(VideoError):
    """The file looks like a video but is incomplete or damaged (e.g. cut off half-way)."""


class TruncatedVideoError(DamagedVideoError):
    """The file's data ends before what its header announces (an upload or copy cut off)."""


class UnsupportedVideoError(VideoError):
    """The file is a video, but outside what WhereWhen accepts (absurd size, no frames)."""


class ToolMissingError(VideoError):
    """ffmpeg (or a configured ffprobe) cannot be found or run."""
