"""Video files for people and for models (ffmpeg only; no Django, no torch).

- :mod:`~workers.video.probe` — what a file is (:func:`probe`, ffprobe or ``ffmpeg -i``) and
  the exact presentation time of every frame (:func:`read_frame_timestamps`).
- :mod:`~workers.video.transcode` — browser-safe playback MP4 (transcode or stream copy),
  poster, thumbnail sprite.
- :mod:`~workers.video.browser_safe` — whether an upload may be copied instead of re-encoded.
- :mod:`~workers.video.index_pass` — frame table, sprite and poster from one decode pass.
- :mod:`~workers.video.ingest` — the whole ingest of one file (:func:`process_video`).
- :mod:`~workers.video.decode` — the frames a clip picks, decoded in-process (PyAV) or by ffmpeg,
  resized by a fit rule, through a bounded cache of decoded windows.
- :mod:`~workers.video.sample` — model clips with exact source timestamps
  (:func:`sample_clip`; :func:`plan_windows`, :func:`sliding_windows`: whole-video windows), with their sound for audio-visual models.
- :mod:`~workers.video.audio` — the waveform overview (:func:`write_waveform`) and a clip
  window's sound for a model (:func:`sample_audio`, ``atempo`` time-stretch).
"""

from workers.video.audio import (
    WAVEFORM_NAME,
    AudioError,
    NoAudioError,
    sample_audio,
    write_waveform,
)
from workers.video.errors import (
    DamagedVideoError,
    NotAVideoError,
    ToolMissingError,
    TruncatedVideoError,
    UnsupportedVideoError,
    VideoError,
)
from workers.video.ingest import IngestResult, process_video
from workers.video.probe import (
    FrameTable,
    ProbeResult,
    frame_rate_summary,
    probe,
    read_frame_timestamps,
    require_video,
)
from workers.video.sample import (
    WindowPlan,
    plan_windows,
    sample_clip,
    sliding_windows,
    uniform_indices,
    window_clips,
)

__all__ = [
    "WAVEFORM_NAME",
    "AudioError",
    "NoAudioError",
    "DamagedVideoError",
    "FrameTable",
    "IngestResult",
    "NotAVideoError",
    "ProbeResult",
    "ToolMissingError",
    "TruncatedVideoError",
    "UnsupportedVideoError",
    "VideoError",
    "WindowPlan",
    "frame_rate_summary",
    "plan_windows",
    "probe",
    "process_video",
    "read_frame_timestamps",
    "require_video",
    "sample_audio",
    "sample_clip",
    "sliding_windows",
    "uniform_indices",
    "window_clips",
    "write_waveform",
]
