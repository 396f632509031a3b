"""Response shapes of the meta-evaluation API (for the schema and the typed client)."""

from __future__ import annotations

from rest_framework import serializers


class _Ref(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class _StudyRef(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()


class MetricMeasureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    higher_is_better = serializers.BooleanField()


class OutcomeMeasureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class MeasuresSerializer(serializers.Serializer):
    metrics = MetricMeasureSerializer(many=True)
    outcomes = OutcomeMeasureSerializer(many=True)


class CountsSerializer(serializers.Serializer):
    stimuli = serializers.IntegerField()
    videos = serializers.IntegerField()
    participants = serializers.IntegerField()


class MeasurePairSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["stimulus", "method"])
    metric = serializers.CharField()
    outcome = serializers.CharField()
    n = serializers.IntegerField(help_text="points with both values")
    kendall_tau = serializers.FloatField(allow_null=True, help_text="tau-b")
    kendall_p = serializers.FloatField(allow_null=True)
    kendall_ci_low = serializers.FloatField(allow_null=True)
    kendall_ci_high = serializers.FloatField(allow_null=True)
    spearman_rho = serializers.FloatField(allow_null=True)
    spearman_p = serializers.FloatField(allow_null=True)
    spearman_ci_low = serializers.FloatField(allow_null=True)
    spearman_ci_high = serializers.FloatField(allow_null=True)
    resamples_used = serializers.IntegerField(
        help_text="bootstrap replicates where the correlation was defined"
    )


class StimulusPointSerializer(serializers.Serializer):
    stimulus = serializers.CharField(help_text="the explanation's id")
    video = serializers.CharField()
    video_name = serializers.CharField()
    method = serializers.CharField()
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True))
    outcomes = serializers.DictField(child=serializers.FloatField(allow_null=True))


class MethodPointSerializer(serializers.Serializer):
    method = serializers.CharField()
    metrics = serializers.DictField(child=serializers.FloatField(allow_null=True))
    outcomes = serializers.DictField(child=serializers.FloatField(allow_null=True))


class RankedMethodSerializer(serializers.Serializer):
    method = serializers.CharField()
    value = serializers.FloatField(allow_null=True)


class RankingSerializer(serializers.Serializer):
    measure = serializers.CharField()
    kind = serializers.ChoiceField(choices=["metric", "outcome"])
    order = RankedMethodSerializer(many=True)


class OptionsSerializer(serializers.Serializer):
    models = _Ref(many=True, help_text="the models of the study's explanations")
    pointing_project = serializers.IntegerField(allow_null=True)


class MethodParamsSerializer(serializers.Serializer):
    method = serializers.CharField()
    params = serializers.DictField()


class ProvenanceSerializer(serializers.Serializer):
    checkpoint_hashes = serializers.ListField(
        child=serializers.CharField(), help_text="fingerprints of the model checkpoints"
    )
    methods = MethodParamsSerializer(many=True)
    gt_version = serializers.CharField(
        allow_blank=True, help_text="hash of the (video, ground truth version) pairs scored on"
    )
    excluded_annotations = serializers.IntegerField(
        help_text="accepted annotations left out of the ground truth (annotator exposed)"
    )
    code_version = serializers.CharField()
    stale_scores = serializers.IntegerField()
    stale_reasons = serializers.DictField(child=serializers.IntegerField())


class MetaEvaluationSerializer(serializers.Serializer):
    study = _StudyRef()
    options = OptionsSerializer()
    project = _Ref()
    model = _Ref(allow_null=True)
    provenance = ProvenanceSerializer(help_text="what the related scores were computed from")
    reason = serializers.CharField(help_text="why the matrix is empty ('' when it is not)")
    notes = serializers.ListField(child=serializers.CharField())
    measures = MeasuresSerializer()
    confidence = serializers.FloatField()
    resamples = serializers.IntegerField()
    seed = serializers.IntegerField()
    counts = CountsSerializer()
    methods = serializers.ListField(child=serializers.CharField())
    metrics = serializers.ListField(child=serializers.CharField())
    outcomes = serializers.ListField(child=serializers.CharField())
    pairs = MeasurePairSerializer(many=True)
    stimulus_points = StimulusPointSerializer(many=True)
    method_points = MethodPointSerializer(many=True)
    rankings = RankingSerializer(many=True)


class SelectionRequestSerializer(serializers.Serializer):
    """How to choose a study's clips (checked by the service; see ``metaeval.selection``)."""

    strategy = serializers.ChoiceField(
        choices=["metric_disagreement", "method_disagreement", "balanced", "random"]
    )
    project = serializers.IntegerField(help_text="annotation project: its clips and scores")
    methods = serializers.ListField(
        child=serializers.CharField(), help_text="methods whose explanations become stimuli"
    )
    model = serializers.IntegerField(required=False, allow_null=True)
    count = serializers.IntegerField(help_text="how many clips")
    seed = serializers.IntegerField(required=False, allow_null=True, help_text="empty: drawn")
    metric_a = serializers.CharField(required=False)
    metric_b = serializers.CharField(required=False)
    method_a = serializers.CharField(required=False)
    method_b = serializers.CharField(required=False)
    allow_sparse = serializers.BooleanField(
        required=False,
        help_text="also choose clips whose maps would show nothing on most frames under the "
        "study's overlay (a method that keeps only key frames, such as STAA+); by default "
        "they are left out (listed in params.left_out_mostly_blank)",
    )


class SelectedVideoSerializer(serializers.Serializer):
    video = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="its disagreement")


class SelectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    study = serializers.IntegerField()
    project = serializers.IntegerField(allow_null=True)
    strategy = serializers.CharField()
    params = serializers.DictField()
    seed = serializers.IntegerField()
    videos = SelectedVideoSerializer(many=True)
    explanations = serializers.ListField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()


class DryRunRequestSerializer(serializers.Serializer):
    participants = serializers.DictField(
        child=serializers.IntegerField(min_value=0),
        help_text='simulated participants per policy: {"metric": 8, "random": 2, "careless": 1}',
    )
    seed = serializers.IntegerField(required=False, help_text="default 0")
    project = serializers.IntegerField(
        required=False, allow_null=True, help_text="whose scores the metric policy follows"
    )
    metric = serializers.CharField(required=False, help_text="default spatial")


class _CopyRef(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()


class DryRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    study = serializers.IntegerField()
    copy = _CopyRef(allow_null=True, help_text="the open copy the participants answered")
    project = serializers.IntegerField(allow_null=True)
    params = serializers.DictField()
    seed = serializers.IntegerField()
    answers = serializers.DictField(child=serializers.IntegerField())
    analysis_url = serializers.CharField(allow_null=True)
    meta_evaluation_url = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
