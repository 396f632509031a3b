"""Create the media bucket of an object store if it is missing (``MEDIA_STORAGE=s3``); does
nothing with the local storage. Idempotent: docker-compose's web service runs it at start."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from wherewhen.core import media


class Command(BaseCommand):
    help = "Create the media bucket (object store) if it does not exist."

    def handle(self, *args, **options) -> None:
        if media.is_local():
            self.stdout.write(f"Media on the local disk ({settings.MEDIA_ROOT}); nothing to do.")
            return
        created = media.ensure_bucket()
        verb = "Created" if created else "Found"
        self.stdout.write(f"{verb} the media bucket {settings.MEDIA_S3_BUCKET!r}.")
