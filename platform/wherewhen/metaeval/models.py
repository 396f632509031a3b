"""How a study's stimuli were chosen (:class:`StimulusSelection`: the strategy, its parameters,
its seed and what it chose; a study may be built from several), and its dry runs
(:class:`DryRun`)."""

from __future__ import annotations

from django.db import models


class StimulusSelection(models.Model):
    class Strategy(models.TextChoices):
        METRIC_DISAGREEMENT = "metric_disagreement", "Clips where two metrics disagree most"
        METHOD_DISAGREEMENT = "method_disagreement", "Clips where two methods differ most"
        BALANCED = "balanced", "Balanced over the range of a metric's disagreement"
        RANDOM = "random", "Random clips"

    study = models.ForeignKey(
        "studies.Study", on_delete=models.CASCADE, related_name="stimulus_selections"
    )
    project = models.ForeignKey(
        "annotations.Project", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    strategy = models.CharField(max_length=24, choices=Strategy.choices)
    params = models.JSONField(default=dict, blank=True, help_text="the request, as given")
    seed = models.PositiveIntegerField()
    videos = models.JSONField(
        default=list, help_text="[{video, score}] in the order chosen (score: its disagreement)"
    )
    explanations = models.JSONField(default=list, help_text="ids added as stimuli")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study_id", "id"]

    def __str__(self) -> str:
        return f"{self.strategy} selection for study {self.study_id}"


class DryRun(models.Model):
    """Simulated participants run through a copy of a study (``metaeval.dryrun``)."""

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="dry_runs")
    copy = models.ForeignKey(
        "studies.Study",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="the open copy the simulated participants answered",
    )
    project = models.ForeignKey(
        "annotations.Project", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    params = models.JSONField(default=dict, help_text="participants per policy, metric, seed")
    seed = models.PositiveIntegerField(default=0)
    answers = models.JSONField(default=dict, help_text="answers given per policy")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study_id", "-id"]

    def __str__(self) -> str:
        return f"dry run of study {self.study_id}"
