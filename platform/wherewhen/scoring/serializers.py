"""Shapes of the scoring API (the views build plain dicts in ``services``; these describe them
for the OpenAPI schema and validate the settings a researcher changes)."""

from __future__ import annotations

from rest_framework import serializers

from wherewhen.core import limits


class ScoringNamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class FrameScoreSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="map frame")
    time = serializers.FloatField(help_text="source seconds the map frame was sampled at")
    frame = serializers.IntegerField(
        allow_null=True, help_text="matched source frame (None: no frame within half a frame)"
    )
    counted = serializers.BooleanField(
        help_text="the source frame has at least one box the model saw (inside its view)"
    )
    seen = serializers.BooleanField(
        default=True,
        help_text="false when the frame's boxes all lie outside the explanation's view (not "
        "seen by the model, so not counted)",
    )
    hit = serializers.BooleanField(allow_null=True)
    small = serializers.BooleanField(allow_null=True, help_text="largest box < 1/4 of the frame")
    energy = serializers.FloatField(allow_null=True)
    iou = serializers.FloatField(allow_null=True)
    point = serializers.ListField(child=serializers.FloatField(), help_text="[x, y] source px")


class ScoreSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="None: computed now, not stored")
    explanation = serializers.IntegerField()
    project = serializers.IntegerField()
    reference = serializers.ChoiceField(choices=["consensus", "annotator"])
    assignment = serializers.IntegerField(allow_null=True)
    annotator = serializers.CharField(allow_null=True)
    gt_source = serializers.CharField()
    tolerance = serializers.FloatField()
    class_name = serializers.CharField(allow_null=True, help_text="the explained class")
    label = serializers.CharField(
        allow_null=True, help_text="the annotation label whose evidence was scored"
    )
    not_scored = serializers.CharField(
        allow_blank=True, help_text="why it is not scored here (empty: scored)"
    )
    frames_counted = serializers.IntegerField()
    frames_hit = serializers.IntegerField()
    spatial = serializers.FloatField(allow_null=True)
    small_counted = serializers.IntegerField()
    small_hit = serializers.IntegerField()
    small = serializers.FloatField(allow_null=True)
    energy = serializers.FloatField(allow_null=True)
    iou = serializers.FloatField(allow_null=True)
    temporal_hit = serializers.BooleanField(allow_null=True)
    spacetime_hit = serializers.BooleanField(allow_null=True)
    sound_hit = serializers.BooleanField(
        allow_null=True,
        help_text="sound temporal pointing game (None: no audio curve or no sound segment)",
    )
    sparsity = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    stored = serializers.BooleanField()
    computed_at = serializers.CharField(allow_null=True)
    frames = FrameScoreSerializer(many=True)


class ExplanationScoresSerializer(serializers.Serializer):
    explanation = serializers.IntegerField()
    video = serializers.IntegerField()
    status = serializers.CharField()
    stale = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    results = ScoreSerializer(many=True)


class ScoringEstimateSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True, help_text="2.5th bootstrap percentile")
    high = serializers.FloatField(allow_null=True, help_text="97.5th bootstrap percentile")
    n = serializers.IntegerField(help_text="frames (clips for temporal / space-time / sound)")


class ScoringCostSerializer(serializers.Serializer):
    wall_seconds = serializers.FloatField(allow_null=True)
    forward_passes = serializers.FloatField(allow_null=True)
    backward_passes = serializers.FloatField(allow_null=True)
    peak_memory_bytes = serializers.FloatField(allow_null=True)


class LeaderboardRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    model = ScoringNamedSerializer(allow_null=True)
    method = serializers.CharField()
    variant = serializers.CharField(allow_blank=True)
    clips = serializers.IntegerField()
    videos = serializers.IntegerField()
    frames = serializers.IntegerField()
    errors = serializers.IntegerField()
    not_scored = serializers.IntegerField(
        help_text="clips not scored (no label for their class, or no evidence of it)"
    )
    labels = serializers.ListField(
        child=serializers.CharField(), help_text="the annotation labels scored"
    )
    spatial = ScoringEstimateSerializer()
    small = ScoringEstimateSerializer()
    temporal = ScoringEstimateSerializer()
    spacetime = ScoringEstimateSerializer()
    sound = ScoringEstimateSerializer(
        help_text="sound temporal pointing game (audio-visual explanations, clips with sound)"
    )
    energy = ScoringEstimateSerializer()
    iou = ScoringEstimateSerializer()
    sparsity = serializers.FloatField(allow_null=True)
    deletion_auc = serializers.FloatField(allow_null=True)
    insertion_auc = serializers.FloatField(allow_null=True)
    cost = ScoringCostSerializer()
    stale = serializers.IntegerField(help_text="scores of this row computed from older inputs")
    checkpoint_hash = serializers.CharField(
        allow_blank=True, help_text='the model checkpoint\'s fingerprint ("mixed" if several)'
    )
    params = serializers.DictField(help_text="the method's parameters")
    gt_version = serializers.CharField(
        allow_blank=True, help_text="hash of the (video, ground truth version) pairs scored on"
    )


class GroundTruthUsedSerializer(serializers.Serializer):
    exclude_exposed = serializers.BooleanField(
        help_text="annotations of annotators exposed to the video's explanations are left out"
    )
    annotations_used = serializers.IntegerField()
    excluded_annotations = serializers.IntegerField(
        help_text="accepted annotations left out (annotator exposed)"
    )
    videos_with_exclusions = serializers.IntegerField()


class HumanRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    annotations = serializers.IntegerField()
    videos = serializers.IntegerField()
    frames = serializers.IntegerField()
    spatial = ScoringEstimateSerializer()


class ScoringComparisonSerializer(serializers.Serializer):
    a = serializers.CharField()
    b = serializers.CharField()
    metric = serializers.CharField()
    test = serializers.CharField()
    frames = serializers.IntegerField(help_text="frames both rows score")
    videos = serializers.IntegerField()
    accuracy_a = serializers.FloatField(allow_null=True)
    accuracy_b = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    a_only = serializers.IntegerField(help_text="frames a hits and b misses")
    b_only = serializers.IntegerField(help_text="frames b hits and a misses")
    exact = serializers.BooleanField()


class ScoringOptionsSerializer(serializers.Serializer):
    datasets = ScoringNamedSerializer(many=True)
    models = ScoringNamedSerializer(many=True)


class LeaderboardSerializer(serializers.Serializer):
    project = ScoringNamedSerializer()
    dataset = ScoringNamedSerializer(allow_null=True)
    model = ScoringNamedSerializer(allow_null=True)
    tolerance = serializers.FloatField()
    stale = serializers.BooleanField(help_text="scores are being recomputed")
    pending = serializers.IntegerField()
    stale_scores = serializers.IntegerField(
        help_text="scores whose inputs changed since they were computed (provenance differs)"
    )
    stale_reasons = serializers.DictField(
        child=serializers.IntegerField(), help_text="why, and how many scores each"
    )
    ground_truth = GroundTruthUsedSerializer(allow_null=True)
    code_version = serializers.CharField()
    reason = serializers.CharField(allow_blank=True, help_text="why the table is empty")
    confidence = serializers.FloatField()
    resamples = serializers.IntegerField()
    videos = serializers.IntegerField()
    rows = LeaderboardRowSerializer(many=True)
    human = HumanRowSerializer(allow_null=True)
    comparisons = ScoringComparisonSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())
    options = ScoringOptionsSerializer()


class ScoringClipFrameSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    time = serializers.FloatField()
    frame = serializers.IntegerField(allow_null=True)
    counted = serializers.BooleanField()
    seen = serializers.BooleanField(help_text="false: the boxes lie outside the view")
    hit = serializers.BooleanField(allow_null=True)


class ScoringClipSerializer(serializers.Serializer):
    explanation = serializers.IntegerField()
    video = ScoringNamedSerializer()
    frames_counted = serializers.IntegerField()
    frames_hit = serializers.IntegerField()
    spatial = serializers.FloatField(allow_null=True)
    temporal_hit = serializers.BooleanField(allow_null=True)
    spacetime_hit = serializers.BooleanField(allow_null=True)
    sound_hit = serializers.BooleanField(allow_null=True)
    energy = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    class_name = serializers.CharField(allow_null=True, help_text="the explained class")
    label = serializers.CharField(
        allow_null=True, help_text="the annotation label whose evidence was scored"
    )
    not_scored = serializers.CharField(
        allow_blank=True, help_text="why it is not scored here (empty: scored)"
    )
    frames = ScoringClipFrameSerializer(many=True)
    focus_time = serializers.FloatField(help_text="the first missed frame, else the first scored")
    player_url = serializers.CharField(help_text="the review player at focus_time")
    stale = serializers.BooleanField()
    stale_reason = serializers.CharField(allow_blank=True)
    gt_version = serializers.CharField(allow_blank=True)
    excluded_annotations = serializers.IntegerField()


class LeaderboardClipsSerializer(serializers.Serializer):
    row = serializers.CharField()
    clips = ScoringClipSerializer(many=True)


class ScoringSettingsSerializer(serializers.Serializer):
    project = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    tolerance = serializers.FloatField(help_text="pixels, 0 or more")
    stale = serializers.BooleanField(read_only=True)
    pending = serializers.IntegerField(read_only=True)
    last_run_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_error = serializers.CharField(
        read_only=True, help_text="videos the last recompute could not score, and why"
    )

    def validate_tolerance(self, value: float) -> float:
        problem = limits.tolerance_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class ScoringRecomputeSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
