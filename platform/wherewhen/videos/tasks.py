"""Media tasks of the video library (queue ``media``: the task names start with ``media.``)."""

from __future__ import annotations

from celery import shared_task

from wherewhen.core import tasking
from wherewhen.videos import services


# Processing converges when run again, and its failures are the file's (recorded on the row),
# not transient: one run per message, no automatic retry.
@shared_task(name=tasking.VIDEO_PROCESS, ignore_result=False)
def process_video(video_id: int, force: bool = False) -> dict:
    """Probe, transcode and index one video; safe to run again (it converges)."""
    status = services.run_processing(video_id, force=force)
    return {"video": video_id, "status": status}
