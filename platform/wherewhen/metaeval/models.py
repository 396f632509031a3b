"""How a study's stimuli were chosen: the strategy, its parameters and its seed, and what it
chose (one row per selection; a study may be built from several)."""

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
