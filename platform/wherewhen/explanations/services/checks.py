"""What a request for an explanation must satisfy before anything is stored or queued.

Each check raises :class:`~wherewhen.core.exceptions.Invalid` on the field at fault, or
:class:`~wherewhen.core.exceptions.Conflict` when the input is fine but the video is not ready.
"""

from __future__ import annotations

from typing import Any

from wherewhen.core.exceptions import Conflict, Invalid
from wherewhen.explanations import methods
from wherewhen.explanations.models import RegisteredModel
from wherewhen.explanations.npz import TIME_TOLERANCE, seconds
from wherewhen.videos.models import Video


def check_params(method: str, params: dict | None) -> dict[str, Any]:
    """The method's parameters in canonical form (defaults filled in)."""
    try:
        return methods.canonical_params(method, params)
    except methods.ParamsError as exc:
        field = "method" if str(exc).startswith("Unknown method") else "params"
        raise Invalid({field: [str(exc)]}) from exc


def check_video_ready(video: Video) -> None:
    if video.status != Video.Status.READY:
        raise Conflict(
            f"Video {video.title!r} is not ready yet (status: {video.status}); explanations "
            "can be requested once it has been processed."
        )
    if not (video.playback or video.original):
        raise Conflict(f"Video {video.title!r} has no file to explain.")


def no_sound_message(video: Video, model: RegisteredModel) -> str:
    return (
        f"Video {video.pk} ({video.title!r}) has no audio track; model {model.name!r} is "
        "audio-visual and needs sound."
    )


def check_sound(video: Video, model: RegisteredModel) -> None:
    """An audio-visual model explains only videos whose playback file has sound."""
    if model.is_audio_visual and not video.has_audio:
        message = no_sound_message(video, model)
        if video.audio_error:
            message += f" {video.audio_error}"
        raise Invalid({"video": [message]})


def check_method_hears(method: str, model: RegisteredModel, field: str = "method") -> None:
    """Not every method explains audio-visual models (the engine's ``audio_visual`` flag)."""
    spec = methods.METHODS.get(method)
    if model.is_audio_visual and spec is not None and not spec.audio_visual:
        usable = ", ".join(sorted(m.name for m in methods.METHODS.values() if m.audio_visual))
        raise Invalid(
            {
                field: [
                    f"Method {method!r} does not explain audio-visual models such as "
                    f"{model.name!r} yet; methods that do: {usable}."
                ]
            }
        )


def check_target(model: RegisteredModel | None, target: Any) -> int | None:
    if target is None:
        return None
    if isinstance(target, bool) or not isinstance(target, int):
        raise Invalid({"target": ["The target class must be a whole number (an index)."]})
    if model is not None:
        n = len(model.labels)
        if not 0 <= target < n:
            raise Invalid(
                {
                    "target": [
                        f"Class {target} is out of range: model {model.name!r} has {n} "
                        f"classes (0..{n - 1})."
                    ]
                }
            )
    elif target < 0:
        raise Invalid({"target": ["The target class must be 0 or more."]})
    return target


def check_clip(video: Video, start: float | None, end: float | None) -> tuple:
    """``(start, end)`` inside the video's exact duration, or ``(None, None)`` for all of it."""
    if start is None and end is None:
        return (None, None)
    duration = float(video.duration or 0.0)  # exact: where the last frame ends
    start = 0.0 if start is None else float(start)
    end = duration if end is None else float(end)
    if not (0.0 <= start < end <= duration + TIME_TOLERANCE):
        raise Invalid(
            {
                "clip": [
                    "The clip must satisfy 0 <= start < end <= "
                    f"{seconds(duration)} s (the video's duration); got start={start}, end={end}."
                ]
            }
        )
    return (round(start, 6), round(end, 6))


def check_windowed(model: RegisteredModel, windowed: bool) -> bool:
    """Windowed (whole-video) explanations are for video-only models for now."""
    if windowed and model.is_audio_visual:
        raise Invalid(
            {
                "windowed": [
                    f"Model {model.name!r} is audio-visual; whole-video (windowed) explanations "
                    "are available for video-only models. Request one clip instead."
                ]
            }
        )
    return bool(windowed)
