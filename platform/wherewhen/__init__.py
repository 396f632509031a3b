"""WhereWhen web platform (Django project package)."""

from wherewhen.celery import app as celery_app

__all__ = ["celery_app"]
