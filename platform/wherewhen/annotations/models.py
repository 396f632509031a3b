"""Crowd annotation: projects, tasks (one video in a project), assignments and their content.

* A **project** belongs to a researcher: instructions, label set, overlap ``k`` (annotators per
  video), lease length, whether model predictions are shown, quality settings.
* A **task** is one video in a project with the class to localize; gold tasks have a known
  answer (a ``gold`` assignment) and measure annotators rather than the video.
* An **assignment** is one annotator's work on one task: a lease while in progress, an
  autosaved draft, then the submitted annotation (tracks with keyframes, and segments) that a
  reviewer accepts or rejects. Imported ground truth and gold answers are assignments without
  an annotator (``source`` says which).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Project(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotation_projects"
    )
    name = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, help_text="Markdown shown to annotators")
    labels = models.JSONField(default=list, blank=True, help_text="Allowed track labels")
    class_map = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Model class name -> annotation label, for classes whose label has another name "
            "(the default pairs a class with the label of the same name, ignoring case)"
        ),
    )
    overlap = models.PositiveSmallIntegerField(default=3, help_text="Annotators per video (k)")
    max_overlap = models.PositiveSmallIntegerField(
        default=5, help_text="Most annotators a low-agreement video may get"
    )
    lease_minutes = models.PositiveIntegerField(default=30)
    rework_minutes = models.PositiveIntegerField(
        default=2880,
        help_text=(
            "How long rejected work waits for its annotator to come back before its slot "
            "returns to the pool"
        ),
    )
    show_predictions = models.BooleanField(
        default=False,
        help_text="Annotators see the model's predictions (they count as exposed to the video's "
        "explanations)",
    )
    exclude_exposed = models.BooleanField(
        default=True,
        help_text="Leave out of the ground truth the annotations of annotators who had seen an "
        "explanation of the video before submitting",
    )
    auto_accept = models.BooleanField(default=False, help_text="Accept submissions without review")
    gold_every = models.PositiveSmallIntegerField(
        default=5, help_text="Serve a gold item as every n-th task of an annotator (0: never)"
    )
    gold_feedback = models.BooleanField(
        default=True,
        help_text="Show annotators how their answer on a gold item compared, right after submitting",
    )
    gold_pass_iou = models.FloatField(
        default=0.5, help_text="A gold item is passed when its box and segment IoU reach this"
    )
    qualification_gold = models.PositiveSmallIntegerField(
        default=0, help_text="Gold items an annotator must pass before real work (0: none)"
    )
    snap_segments = models.BooleanField(
        default=False,
        help_text=(
            'Snap annotators\' "when" segments to frame boundaries: a start to the start of its '
            "frame, an end to the end of its frame"
        ),
    )
    agreement_threshold = models.FloatField(
        default=0.5, help_text="Videos below this agreement are flagged for more annotators"
    )
    active = models.BooleanField(default=True)
    annotators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="annotation_project_memberships",
        help_text="Who may work on the project (nobody listed: every annotator)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="annproject_unique_name"),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="annproject_overlap_min"),
            models.CheckConstraint(
                condition=Q(max_overlap__gte=models.F("overlap")), name="annproject_max_overlap"
            ),
            models.CheckConstraint(condition=Q(lease_minutes__gte=1), name="annproject_lease"),
            models.CheckConstraint(
                condition=Q(rework_minutes__gte=10), name="annproject_rework_minutes"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    """One video of a project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    video = models.ForeignKey(
        "videos.Video", on_delete=models.CASCADE, related_name="annotation_tasks"
    )
    label = models.CharField(max_length=100, help_text="The class to localize in this video")
    is_gold = models.BooleanField(default=False)
    extra_overlap = models.PositiveSmallIntegerField(
        default=0, help_text="Annotators added beyond the project's overlap"
    )
    agreement = models.FloatField(null=True, blank=True)
    flagged = models.BooleanField(default=False, help_text="Low agreement")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "video"], name="anntask_unique_video")
        ]

    def __str__(self) -> str:
        return f"{self.project} / {self.video}"

    @property
    def required(self) -> int:
        """How many annotators this video needs (gold items: every annotator, once)."""
        return self.project.overlap + self.extra_overlap


class Assignment(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    class Source(models.TextChoices):
        CROWD = "crowd", "Annotator"
        IMPORT = "import", "Imported ground truth"
        GOLD = "gold", "Gold answer"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="annotation_assignments",
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.CROWD)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.IN_PROGRESS, db_index=True
    )
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "In progress: when the annotator's lease runs out; rejected: when the work returns "
            "to the pool unless its annotator comes back first"
        ),
    )
    draft = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=0, help_text="Bumped by every saved draft")
    draft_saved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="annotation_reviews",
    )
    review_comment = models.TextField(blank=True)
    review_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="annotation_review_leases",
        help_text="The reviewer who took this submission from the review queue",
    )
    review_lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When the reviewer's lease on it runs out"
    )
    review_notes = models.JSONField(
        default=list,
        blank=True,
        help_text="The reviewer's notes pinned to frames: {frame, track (index or null), text}",
    )
    gold_feedback = models.JSONField(
        default=dict,
        blank=True,
        help_text="On a gold item: how the submission compared with the known answer",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "annotator"],
                condition=Q(annotator__isnull=False),
                name="annassignment_once_per_annotator",
            ),
            models.UniqueConstraint(
                fields=["task"], condition=Q(source="gold"), name="annassignment_one_gold"
            ),
            models.CheckConstraint(
                condition=Q(source="crowd", annotator__isnull=False)
                | Q(~Q(source="crowd"), annotator__isnull=True),
                name="annassignment_annotator_iff_crowd",
            ),
        ]
        indexes = [
            models.Index(fields=["task", "status"], name="annassignment_task_status"),
            models.Index(fields=["annotator", "status"], name="annassignment_annotator"),
            models.Index(fields=["status", "lease_expires_at"], name="annassignment_lease"),
            models.Index(
                fields=["status", "submitted_at"],
                condition=Q(status="submitted"),
                name="annassignment_review_queue",
            ),
        ]

    def __str__(self) -> str:
        who = self.annotator.username if self.annotator_id else self.get_source_display()
        return f"{who}: {self.task}"


class Track(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="tracks")
    label = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.label} track {self.order}"


class Keyframe(models.Model):
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="keyframes")
    frame = models.PositiveIntegerField()
    x0 = models.FloatField()
    y0 = models.FloatField()
    x1 = models.FloatField()
    y1 = models.FloatField()
    outside = models.BooleanField(default=False)
    occluded = models.BooleanField(default=False)
    attributes = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "CVAT attributes of this box, name -> text value (interpolated frames copy them "
            "from the keyframe before)"
        ),
    )
    tracked = models.BooleanField(
        default=False,
        help_text="A box the tracker proposed and the annotator kept, not one they drew",
    )
    hold = models.BooleanField(
        default=False,
        help_text=(
            "Interpolation off from here: the box stays as on this keyframe until the next one"
        ),
    )

    class Meta:
        ordering = ["frame"]
        constraints = [
            models.UniqueConstraint(fields=["track", "frame"], name="annkeyframe_unique_frame"),
            models.CheckConstraint(
                condition=Q(x1__gt=models.F("x0"), y1__gt=models.F("y0"), x0__gte=0, y0__gte=0),
                name="annkeyframe_positive_box",
            ),
        ]

    def __str__(self) -> str:
        return f"frame {self.frame}: [{self.x0}, {self.x1}] x [{self.y0}, {self.y1}]"


class Segment(models.Model):
    class Kind(models.TextChoices):
        VISUAL = "visual", "Visual event"
        SOUND = "sound", "Sound"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="segments")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.VISUAL)
    label = models.CharField(max_length=100, help_text="What happens (an annotation label)")
    start = models.FloatField(help_text="seconds")
    end = models.FloatField(help_text="seconds")

    class Meta:
        ordering = ["kind", "label", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start"), start__gte=0), name="annsegment_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.kind} {self.start}-{self.end} s"


class TrackingJob(models.Model):
    """One run of the assisted tracker: a box on ``start_frame`` followed forward or backward to
    ``end_frame``; its proposals (``boxes``) go back to the annotator, who accepts, corrects or
    discards them. Short runs happen in the request, long ones on the ``media`` queue."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Direction(models.TextChoices):
        FORWARD = "forward", "Forward"
        BACKWARD = "backward", "Backward"

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="tracking_jobs"
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    method = models.CharField(max_length=8, default="csrt")
    start_frame = models.PositiveIntegerField()
    end_frame = models.PositiveIntegerField(help_text="Last frame to propose a box on")
    box = models.JSONField(help_text="[x0, y0, x1, y1] on the start frame")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0, help_text="0..1")
    boxes = models.JSONField(
        default=list, blank=True, help_text="Proposals: {frame, x0, y0, x1, y1}, in frame order"
    )
    lost_at = models.PositiveIntegerField(
        null=True, blank=True, help_text="First frame where the tracker lost the object"
    )
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    in_process = models.BooleanField(default=False, help_text="Ran in the request")
    claimed_by = models.CharField(
        max_length=200, blank=True, help_text="node|host|pid of the process running it"
    )
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Running: renewed by the worker as it goes; past it, the run is abandoned",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.direction} from frame {self.start_frame} ({self.status})"


class Exposure(models.Model):
    """A person saw an explanation (or a model's prediction) of a video: in the review player,
    in a study they took part in, or in a project that showed model predictions. Written once
    per (user, video, source); ``first_seen`` is the first time. Consensus leaves out the
    annotations their annotator submitted after being exposed to the video (a project setting,
    see ``docs/methods.md``)."""

    class Source(models.TextChoices):
        REVIEW = "review", "Review player"
        STUDY = "study", "Study taken part in"
        PROJECT = "project", "Project that showed model predictions"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=8, choices=Source.choices)
    first_seen = models.DateTimeField()

    class Meta:
        ordering = ["first_seen", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "video", "source"], name="exposure_once")
        ]
        indexes = [models.Index(fields=["video", "user"], name="exposure_video_user")]

    def __str__(self) -> str:
        return f"user {self.user_id} saw video {self.video_id} ({self.source})"
