"""The one Celery app of WhereWhen, with queues ``default``, ``media`` and ``gpu``.

Workers are started with ``python -m celery -A wherewhen worker -Q <queues>`` (see the README);
``python manage.py up`` starts them for the embedded set-up.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_prerun, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wherewhen.settings")

app = Celery("wherewhen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A worker process keeps its database connection from one task to the next (Celery's Django
# fix-up would close it after every task: a new PostgreSQL connection per explanation, a few
# milliseconds each). Before each task Django's own rule closes it when it failed or outlived
# ``CONN_MAX_AGE`` (SQLite's is 0: closed every time, as before).
app.conf["CELERY_DB_REUSE_MAX"] = 1000


@task_prerun.connect
def _fresh_enough_connection(sender=None, **kwargs) -> None:
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # run inline by the caller, inside its transaction
    from django.db import close_old_connections

    close_old_connections()


@worker_ready.connect
def _start_heartbeat(sender, **kwargs) -> None:  # sender: the worker's Consumer
    from wherewhen.core import heartbeat

    queues = sorted(queue.name for queue in sender.task_consumer.queues)
    heartbeat.start(hostname=sender.hostname, queues=queues)


@worker_shutdown.connect
def _stop_heartbeat(sender=None, **kwargs) -> None:
    from wherewhen.core import heartbeat

    heartbeat.stop()
