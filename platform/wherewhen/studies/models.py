"""Human-evaluation studies: designs, blinded stimuli, participant sessions, trials, responses.

A participant never sees a method, model or explanation id: every stimulus has an opaque random
``token`` and every participant request is authenticated by the session's opaque ``token``.
Rows are never deleted to exclude data; exclusions are computed at analysis time.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from wherewhen.explanations.models import Explanation


def new_token() -> str:
    """An opaque hex token (hex only, so it never spells a word such as a method name)."""
    return secrets.token_hex(16)


def new_completion_code() -> str:
    return secrets.token_hex(4).upper()


class TrialKind(models.TextChoices):
    RATING = "rating", "Likert rating of one explanation"
    PAIRWISE = "pairwise", "Pairwise choice between two explanations"
    FORWARD = "forward", "Forward simulation (predict the model's label)"
    POINTING = "pointing", "Pointing (click where the evidence is)"
    DISTINCTION = "distinction", "Distinction (which of k candidate classes was predicted)"
    ATTENTION = "attention", "Attention check"


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="studies"
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    blinded = models.BooleanField(default=True)
    trial_kinds = models.JSONField(default=list, help_text="kinds of the main trials")
    trials_per_participant = models.PositiveIntegerField(default=8)
    practice_trials = models.PositiveIntegerField(default=1)
    likert_points = models.PositiveIntegerField(default=7)
    rating_question = models.CharField(
        max_length=300, default="How well does the highlighted region explain the video?"
    )
    pairwise_question = models.CharField(
        max_length=300, default="Which highlighting explains the video better?"
    )
    forward_question = models.CharField(
        max_length=300, default="Which label did the model predict for this video?"
    )
    pointing_question = models.CharField(
        max_length=300, default="Click where the evidence for the event is."
    )
    distinction_question = models.CharField(
        max_length=300,
        default="Each video highlights the evidence for one candidate class. "
        "Which class did the model predict?",
    )
    distinction_k = models.PositiveIntegerField(
        default=4,
        help_text="candidate classes (explanations of one clip) a distinction trial shows",
    )
    ask_confidence = models.BooleanField(
        default=False, help_text="ask a confidence rating (1-5) after every main trial"
    )
    confidence_question = models.CharField(
        max_length=300, default="How confident are you in your answer?"
    )
    attention_checks = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"prompt": str, "choices": [str, ...], "answer": str}, ...]',
    )
    attention_every = models.PositiveIntegerField(
        default=4, help_text="an attention check after every N main trials (0: none)"
    )
    max_failed_checks = models.PositiveIntegerField(default=0)
    min_response_ms = models.PositiveIntegerField(
        default=500, help_text="faster answers are excluded in analysis"
    )
    screen_out_failed_checks = models.BooleanField(
        default=True,
        help_text="end the session (with the screen-out code) once a participant fails more "
        "than max_failed_checks attention checks",
    )
    time_limit_seconds = models.PositiveIntegerField(default=0, help_text="per trial; 0: none")
    consent_text = models.TextField(default="I agree to take part in this study.")
    instructions_text = models.TextField(blank=True)
    completion_code = models.CharField(max_length=64, default=new_completion_code)
    screen_out_code = models.CharField(
        max_length=64,
        default=new_completion_code,
        help_text="shown to participants whose session ends on failed attention checks",
    )
    redirect_url = models.URLField(blank=True)
    pointing_project = models.ForeignKey(
        "annotations.Project",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=(
            "annotation project whose ground truth scores pointing trials (with its labels, "
            "class map and tolerance, exactly as it scores explanations)"
        ),
    )
    overlay_normalization = models.CharField(
        max_length=8,
        choices=[
            ("frame", "Each frame on its own (every frame shows its hottest region)"),
            ("clip", "The whole clip at once (quiet frames stay quiet)"),
        ],
        default="frame",
        help_text="how the explanation map is scaled before the threshold, as in the player",
    )
    overlay_threshold = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.01), MaxValueValidator(0.95)],
        help_text="cells below this fraction of the scaled range are not drawn",
    )
    seed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.title


class Stimulus(models.Model):
    """One explanation in a study, known to participants only by its random token."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="stimuli")
    token = models.CharField(max_length=32, unique=True, default=new_token)
    explanation = models.ForeignKey(Explanation, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=64, help_text="condition (copied from the explanation)")
    video = models.ForeignKey("videos.Video", on_delete=models.PROTECT, related_name="+")
    allow_sparse = models.BooleanField(
        default=False,
        help_text="added knowing that its map is empty on most frames (a method that keeps only "
        "key frames, such as STAA+): the design check lets it through",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "explanation"], name="stimulus_once")
        ]

    def __str__(self) -> str:
        return f"{self.token} ({self.study_id})"


class Session(models.Model):
    """One participant's run through a study: one per participant id, never restarted."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="sessions")
    participant_id = models.CharField(max_length=200)
    recruitment = models.JSONField(default=dict, blank=True)
    token = models.CharField(max_length=32, unique=True, default=new_token)
    preview = models.BooleanField(default=False)
    order_row = models.PositiveIntegerField(default=0, help_text="Latin-square row")
    serial = models.PositiveIntegerField(
        default=0,
        help_text="the slot on its row: which stimuli its trials take (a returned session's "
        "slot is taken again by the next participant on the row)",
    )
    current_index = models.PositiveIntegerField(default=0)
    user_agent = models.CharField(max_length=400, blank=True)
    viewport = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    instructed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    screened_out_at = models.DateTimeField(
        null=True, blank=True, help_text="ended on failed attention checks"
    )
    returned_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="the participant gave the study back: its Latin-square slot is free again",
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "participant_id"], name="one_session_per_participant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} in {self.study_id}"


class Trial(models.Model):
    """One position of a session's trial list, decided on the server when the session starts."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="trials")
    index = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=TrialKind.choices)
    practice = models.BooleanField(default=False)
    condition = models.CharField(max_length=200, blank=True)
    stimulus_a = models.ForeignKey(
        Stimulus, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stimulus_b = models.ForeignKey(
        Stimulus, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    options = models.JSONField(
        default=list,
        blank=True,
        help_text="distinction trials: the stimulus tokens in screen order (stimulus_a is the "
        "explanation of the predicted class)",
    )
    check_item = models.JSONField(default=dict, blank=True, help_text="attention check item")
    served_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "index"]
        constraints = [
            models.UniqueConstraint(fields=["session", "index"], name="trial_position_once")
        ]

    def __str__(self) -> str:
        return f"trial {self.index} ({self.kind}) of session {self.session_id}"


class Response(models.Model):
    """A participant's answer to one trial (one per trial; replays return this row)."""

    trial = models.OneToOneField(Trial, on_delete=models.CASCADE, related_name="response")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="responses")
    response_id = models.CharField(max_length=64)
    answer = models.JSONField(default=dict)
    correct = models.BooleanField(null=True, blank=True)
    late = models.BooleanField(default=False)
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="the participant's confidence, 1-5 (if asked)"
    )
    served_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True, help_text="server-measured")
    client_ms = models.PositiveIntegerField(null=True, blank=True, help_text="client-measured")
    client_times = models.JSONField(default=dict, blank=True)
    viewport = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="what the replay returns")
    overlay_display_rule = models.JSONField(
        default=dict,
        blank=True,
        help_text='the overlay as the participant saw it: {"normalization", "threshold"}',
    )

    class Meta:
        ordering = ["session", "trial__index"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "response_id"], name="response_id_once_per_session"
            )
        ]

    def __str__(self) -> str:
        return f"response to trial {self.trial_id}"
