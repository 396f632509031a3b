"""Media tasks of the video library (queue ``media``: the task names start with ``media.``)."""

from __future__ import annotations

from celery import shared_task

from wherewhen.videos import services


@shared_task(name="media.videos.process", ignore_result=False)
def process_video(video_id: int, force: bool = False) -> dict:
    """Probe, transcode and index one video; safe to run again (it converges)."""
    status = services.run_processing(video_id, force=force)
    return {"video": video_id, "status": status}
