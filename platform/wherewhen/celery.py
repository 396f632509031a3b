"""The one Celery app of WhereWhen, with queues ``default``, ``media`` and ``gpu``.

Workers are started with ``python -m celery -A wherewhen worker -Q <queues>`` (see the README);
``python manage.py up`` starts them for the embedded set-up.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wherewhen.settings")

app = Celery("wherewhen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _start_heartbeat(sender, **kwargs) -> None:  # sender: the worker's Consumer
    from wherewhen.core import heartbeat

    queues = sorted(queue.name for queue in sender.task_consumer.queues)
    heartbeat.start(hostname=sender.hostname, queues=queues)


@worker_shutdown.connect
def _stop_heartbeat(sender=None, **kwargs) -> None:
    from wherewhen.core import heartbeat

    heartbeat.stop()
