"""Pointing-game scores of explanations against ground truth, and what is waiting to be scored.

* :class:`ScoringSettings` -- per annotation project: the pointing tolerance in pixels.
* :class:`ScoreRequest` -- a change that needs scores recomputed (the ground truth of one video
  of a project, a finished explanation, or a whole project). Rows exist while the recompute is
  pending; a project with rows is shown as *stale*.
* :class:`ExplanationScore` -- the scores of one explanation against one reference of one
  project: the consensus ground truth, or one annotator's accepted annotation. ``key`` hashes
  everything the scores depend on (map, timestamps, temporal importance, the boxes and segments
  of the matched source frames, tolerance, scoring version), so unchanged pairs are skipped.
* :class:`HumanBaseline` -- how well one annotator's box centres of one label point into the
  consensus of the other annotators of that label, per source frame.

Scores are per class: ``label`` is the annotation label the explained class (``class_name``)
maps to, and only that label's evidence is used; a row with ``not_scored`` set says why the
explanation has no score here (no label for its class, no evidence of the label) and counts
nowhere.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from workers.metrics.pointing import DEFAULT_TOLERANCE


class ScoringSettings(models.Model):
    project = models.OneToOneField(
        "annotations.Project", on_delete=models.CASCADE, related_name="scoring_settings"
    )
    tolerance = models.FloatField(
        default=DEFAULT_TOLERANCE,
        validators=[MinValueValidator(0.0)],
        help_text="A point closer than this many pixels to a box is a hit",
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "scoring settings"
        constraints = [
            models.CheckConstraint(condition=Q(tolerance__gte=0), name="scoring_tolerance_min")
        ]

    def __str__(self) -> str:
        return f"scoring of {self.project}"


class ScoreRequest(models.Model):
    """Something changed; scores of ``project`` need a look (see the module docstring)."""

    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="score_requests"
    )
    video = models.ForeignKey(
        "videos.Video", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    explanation = models.ForeignKey(
        "explanations.Explanation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"rescore project {self.project_id}: {self.reason}"


class ExplanationScore(models.Model):
    class Reference(models.TextChoices):
        CONSENSUS = "consensus", "Consensus ground truth"
        ANNOTATOR = "annotator", "One annotator"

    explanation = models.ForeignKey(
        "explanations.Explanation", on_delete=models.CASCADE, related_name="scores"
    )
    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="explanation_scores"
    )
    reference = models.CharField(max_length=10, choices=Reference.choices)
    assignment = models.ForeignKey(
        "annotations.Assignment",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="explanation_scores",
        help_text="The annotator's annotation (reference = annotator)",
    )
    key = models.CharField(max_length=64)
    tolerance = models.FloatField()
    gt_source = models.CharField(max_length=12, blank=True, help_text="gold, consensus, annotator")
    class_name = models.CharField(
        max_length=200, blank=True, help_text="the explained class (empty: unknown)"
    )
    label = models.CharField(
        max_length=100, blank=True, help_text="the annotation label whose evidence was scored"
    )
    not_scored = models.TextField(
        blank=True, help_text="why this explanation is not scored here (empty: scored)"
    )
    frames_counted = models.PositiveIntegerField(default=0)
    frames_hit = models.PositiveIntegerField(default=0)
    small_counted = models.PositiveIntegerField(default=0)
    small_hit = models.PositiveIntegerField(default=0)
    energy_sum = models.FloatField(default=0.0, help_text="sum over counted frames")
    iou_sum = models.FloatField(default=0.0, help_text="sum over counted frames")
    temporal_hit = models.BooleanField(null=True, blank=True, help_text="None: not counted")
    spacetime_hit = models.BooleanField(null=True, blank=True, help_text="None: not counted")
    sound_hit = models.BooleanField(
        null=True,
        blank=True,
        help_text="sound temporal pointing game of the audio curve (None: not counted)",
    )
    sparsity = models.FloatField(null=True, blank=True, help_text="Gini index of the map")
    frames = models.JSONField(default=list, blank=True, help_text="per map frame")
    error = models.TextField(blank=True)
    computed_at = models.DateTimeField(auto_now=True)
    # Provenance: what produced these numbers (see wherewhen.scoring.provenance). Stale when
    # a stored value differs from the current one.
    gt_version = models.CharField(
        max_length=64, blank=True, help_text="hash of the ground truth's inputs (ids + revisions)"
    )
    annotations_used = models.PositiveIntegerField(
        default=0, help_text="accepted annotations (or gold answer) the ground truth was made of"
    )
    excluded_annotations = models.PositiveIntegerField(
        default=0, help_text="accepted annotations left out (annotator exposed to explanations)"
    )
    explanation_hash = models.CharField(
        max_length=64, blank=True, help_text="the explanation's map_sha256 when scored"
    )
    checkpoint_hash = models.CharField(
        max_length=64, blank=True, help_text="the model checkpoint's fingerprint when scored"
    )
    video_hash = models.CharField(
        max_length=64, blank=True, help_text="the video's content hash when scored"
    )
    scoring_version = models.PositiveSmallIntegerField(default=0)
    code_version = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["project_id", "explanation_id", "reference", "assignment_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["explanation", "project"],
                condition=Q(reference="consensus"),
                name="score_one_consensus",
            ),
            models.UniqueConstraint(
                fields=["explanation", "project", "assignment"],
                condition=Q(reference="annotator"),
                name="score_one_per_annotator",
            ),
            models.CheckConstraint(
                condition=Q(reference="consensus", assignment__isnull=True)
                | Q(reference="annotator", assignment__isnull=False),
                name="score_assignment_iff_annotator",
            ),
        ]
        indexes = [models.Index(fields=["project", "reference"], name="score_project_ref")]

    def __str__(self) -> str:
        return f"explanation {self.explanation_id} vs {self.reference} of project {self.project_id}"


class HumanBaseline(models.Model):
    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="human_baselines"
    )
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="+")
    assignment = models.ForeignKey(
        "annotations.Assignment", on_delete=models.CASCADE, related_name="human_baselines"
    )
    label = models.CharField(max_length=100, blank=True, help_text="the label compared")
    key = models.CharField(max_length=64)
    tolerance = models.FloatField()
    frames_counted = models.PositiveIntegerField(default=0)
    frames_hit = models.PositiveIntegerField(default=0)
    counted = models.JSONField(default=list, blank=True, help_text="source frames counted")
    hits = models.JSONField(default=list, blank=True, help_text="source frames hit")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "video_id", "assignment_id", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "assignment", "label"], name="baseline_unique_label"
            )
        ]

    def __str__(self) -> str:
        return f"human baseline of assignment {self.assignment_id}"
