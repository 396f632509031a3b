"""The video library: datasets of videos, each probed, transcoded and sampled for models."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Dataset(models.Model):
    """A named collection of videos a researcher works with (explained, annotated, scored)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="dataset_unique_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name


class Video(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos"
    )
    datasets = models.ManyToManyField(Dataset, related_name="videos", blank=True)
    title = models.CharField(max_length=255)
    original_name = models.CharField(max_length=255)
    label = models.CharField(max_length=200, blank=True, db_index=True)
    split = models.CharField(max_length=20, blank=True, db_index=True)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the uploaded bytes")
    size_bytes = models.BigIntegerField()
    original = models.FileField(upload_to="videos/original/", max_length=500)

    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.UPLOADED, db_index=True
    )
    error = models.TextField(blank=True, help_text="Why processing failed, in plain words")
    progress = models.FloatField(default=0.0, help_text="0..1 while processing")

    # Probe results (display geometry: width/height are after applying rotation).
    duration = models.FloatField(null=True, blank=True, help_text="seconds")
    fps = models.FloatField(null=True, blank=True, help_text="average frame rate")
    variable_frame_rate = models.BooleanField(default=False)
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    rotation = models.IntegerField(default=0)
    video_codec = models.CharField(max_length=50, blank=True)
    audio_codec = models.CharField(max_length=50, blank=True)
    has_audio = models.BooleanField(default=False, help_text="the playback file has sound")

    # Derived files.
    playback = models.FileField(upload_to="videos/playback/", max_length=500, blank=True)
    poster = models.FileField(upload_to="videos/poster/", max_length=500, blank=True)
    sprite = models.FileField(upload_to="videos/sprite/", max_length=500, blank=True)
    sprite_meta = models.JSONField(default=dict, blank=True)
    # Min/max overview of the sound (waveform.json), when the playback file has sound.
    waveform = models.FileField(upload_to="videos/waveform/", max_length=500, blank=True)
    audio_error = models.TextField(
        blank=True, help_text="Why the upload's sound is missing from playback or waveform"
    )
    # Presentation timestamp (seconds) of every frame of the playback file, in order.
    frame_timestamps = models.JSONField(default=list, blank=True)
    # What probing the uploaded file found (codecs, coded size, aspect, container duration).
    source_info = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "content_hash"], name="video_unique_content_per_owner"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def folder(self) -> str:
        """Media-relative folder holding the original and every derived file of this video."""
        return f"videos/{self.owner_id}/{self.content_hash}"
