"""Registered models, explanations (computed or imported), review flags, exports, bulk runs."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from wherewhen.videos.models import Dataset, Video

MODEL_NAME_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    "Use letters, digits, '.', '_' and '-' only, starting with a letter or digit.",
)


class Device(models.TextChoices):
    AUTO = "auto", "Automatic (GPU when the worker has one)"
    CPU = "cpu", "CPU"
    CUDA = "cuda", "GPU (CUDA)"


class RegisteredModel(models.Model):
    """A video classifier checkpoint directory the gpu workers can load.

    ``architecture``, ``labels`` and ``input_spec`` are read from the directory when it is
    registered (``workers.models.checkpoint_info``); ``fingerprint`` changes when the files on
    disk are replaced, which gives new requests a new idempotency key.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registered_models",
    )
    name = models.CharField(max_length=100, unique=True, validators=[MODEL_NAME_VALIDATOR])
    description = models.TextField(blank=True)
    architecture = models.CharField(max_length=32)
    checkpoint_dir = models.CharField(max_length=1000)
    labels = models.JSONField(default=list)
    input_spec = models.JSONField(default=dict)
    device = models.CharField(max_length=8, choices=Device.choices, default=Device.AUTO)
    fingerprint = models.CharField(max_length=64)
    public = models.BooleanField(
        default=False, help_text="Usable by every researcher and reviewer, not only its owner"
    )
    bundled = models.BooleanField(default=False, help_text="Ships with WhereWhen")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "registered model"

    def __str__(self) -> str:
        return self.name

    @property
    def is_audio_visual(self) -> bool:
        """The model hears the clip's sound too (its input spec has an ``audio`` part)."""
        return bool((self.input_spec or {}).get("audio"))

    @property
    def modalities(self) -> list[str]:
        return ["video", "audio"] if self.is_audio_visual else ["video"]

    @property
    def grid(self) -> list[int]:
        spec = self.input_spec or {}
        side = int(spec.get("image_size", 0)) // max(1, int(spec.get("patch_size", 1)))
        frames = int(spec.get("num_frames", 0)) // max(1, int(spec.get("tubelet_size", 1)))
        return [frames, side, side]


#: The longest name a person may give an explanation.
NAME_MAX_LENGTH = 120


class Explanation(models.Model):
    """One explanation of one clip of a video: a map on the token grid, temporal importance,
    the frame timestamps, the prediction, the explained class and the cost.

    Computed explanations are unique per ``request_key`` (a hash of the video's content and id,
    the model and its fingerprint, the method, the canonical parameters, the target and the clip
    window): the same request returns the same row. The compute task claims a row by moving it
    from ``queued`` to ``running`` with its ``claimed_by`` identity and a lease it keeps renewing;
    see ``docs/architecture.md`` ("On-demand explanations") for the whole protocol.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        COMPUTED = "computed", "Computed by WhereWhen"
        IMPORTED = "imported", "Imported from a file"

    request_key = models.CharField(max_length=64, unique=True)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="explanations")
    model = models.ForeignKey(
        RegisteredModel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="explanations",
    )
    method = models.CharField(max_length=64, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    params_hash = models.CharField(max_length=64, db_index=True)
    target = models.IntegerField(null=True, blank=True, help_text="requested class index")
    clip_start = models.FloatField(null=True, blank=True, help_text="seconds")
    clip_end = models.FloatField(null=True, blank=True, help_text="seconds")
    windowed = models.BooleanField(
        default=False,
        help_text="explain the span window by window (sliding windows of the model's clip "
        "length) instead of one clip sampled from it",
    )
    source = models.CharField(
        max_length=10, choices=Source.choices, default=Source.COMPUTED, db_index=True
    )
    label = models.CharField(max_length=200, blank=True, help_text="display name (imports)")
    name = models.CharField(
        max_length=NAME_MAX_LENGTH,
        blank=True,
        help_text="a name given by a person; blank: the review player's default name",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requested_explanations",
    )

    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    claimed_by = models.CharField(max_length=300, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    batch_size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The result (filled in one transaction with status=done).
    map_file = models.CharField(max_length=500, blank=True, help_text="media storage name")
    map_sha256 = models.CharField(max_length=64, blank=True)
    grid = models.JSONField(default=list, blank=True, help_text="[T, h, w]")
    temporal = models.JSONField(default=list, blank=True)
    timestamps = models.JSONField(default=list, blank=True)
    explained_target = models.IntegerField(null=True, blank=True)
    topk = models.JSONField(default=list, blank=True)
    cost = models.JSONField(default=dict, blank=True)
    value_range = models.JSONField(default=list, blank=True, help_text="[min, max] of the map")
    # Audio-visual models: {"importance": [A floats], "times": [[start, end], ...]} (source
    # seconds each audio token covers, [start, end)); null for video-only explanations.
    audio = models.JSONField(null=True, blank=True, default=None)
    # The rectangle of the frame the model saw, [x0, y0, x1, y1] in the video's display pixels
    # (models that centre-crop); the map's cells tile it. Null: the whole frame.
    view = models.JSONField(
        null=True,
        blank=True,
        default=None,
        help_text="[x0, y0, x1, y1] the model saw, in video pixels; null: the whole frame",
    )
    # Windowed explanations (``workers.windows.result_summary``): window length and stride,
    # each window's [start, end) and class, the whole-span curve {times, importance}, and which
    # map row shows when ({times, rows}: the last change point <= t). Null for one-clip rows.
    windows = models.JSONField(null=True, blank=True, default=None)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "model", "method", "params_hash"], name="expl_batch"),
            models.Index(fields=["video", "method"], name="expl_video_method"),
        ]

    def __str__(self) -> str:
        return f"{self.method} on {self.video_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    def view_rect(self) -> list[float] | None:
        """The view the map's cells tile: the stored one, else the whole video frame (None
        while the video's size is unknown); see :mod:`wherewhen.explanations.framing`."""
        from wherewhen.explanations.framing import effective

        return effective(self.view, self.video.width, self.video.height)


class Flag(models.Model):
    """A reviewer's (or researcher's) note that an explanation looks wrong, with a comment."""

    class Reason(models.TextChoices):
        WRONG_PLACE = "wrong_place", "Points at the wrong place"
        WRONG_TIME = "wrong_time", "Points at the wrong time"
        NOISY = "noisy", "Noisy or diffuse"
        ARTIFACT = "artifact", "Artifact (border, padding, constant)"
        OTHER = "other", "Other"

    explanation = models.ForeignKey(Explanation, on_delete=models.CASCADE, related_name="flags")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="explanation_flags"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.OTHER)
    comment = models.TextField(blank=True)
    time = models.FloatField(null=True, blank=True, help_text="video time (s) the flag is about")
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} on explanation {self.explanation_id}"


class Export(models.Model):
    """A rendered file of an explanation: an overlay MP4 or a PNG strip of keyframes."""

    class Kind(models.TextChoices):
        MP4 = "mp4", "Overlay video (MP4)"
        PNG = "png", "Keyframe strip (PNG)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    explanation = models.ForeignKey(Explanation, on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    options = models.JSONField(default=dict, blank=True)
    options_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    file = models.CharField(max_length=500, blank=True, help_text="media storage name")
    size_bytes = models.BigIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["explanation", "kind", "options_hash"], name="export_unique_per_options"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of explanation {self.explanation_id} ({self.status})"


class BulkRun(models.Model):
    """ "Explain this dataset with these methods": one explanation request per video and method,
    followed as one job (progress and ETA are computed from its explanations)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bulk_runs"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="bulk_runs")
    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="bulk_runs")
    methods = models.JSONField(default=list)
    params = models.JSONField(default=dict, blank=True, help_text="method -> parameters")
    target = models.IntegerField(null=True, blank=True)
    skipped = models.JSONField(default=list, blank=True, help_text="videos not explained, why")
    explanations = models.ManyToManyField(Explanation, related_name="bulk_runs", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.dataset} x {', '.join(self.methods)} with {self.model}"
