"""Serializers of the designer API and the (blinded) participant API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wherewhen.core import limits
from wherewhen.core.fields import BoundedDictField
from wherewhen.studies.models import Stimulus, Study, TrialKind

# What a participant's browser may send along with an answer (compact JSON bytes).
ANSWER_MAX_BYTES = 16 * 1024
CLIENT_TIMES_MAX_BYTES = 4 * 1024
VIEWPORT_MAX_BYTES = 2 * 1024
PARAMS_MAX_BYTES = 4 * 1024


def _between(low: int, high: int):
    def check(value: int) -> None:
        if not low <= value <= high:
            raise serializers.ValidationError(f"Must be from {low} to {high}; got {value}.")

    return check


class StudySerializer(serializers.ModelSerializer):
    trial_kinds = serializers.ListField(
        child=serializers.ChoiceField(
            choices=[k for k in TrialKind.values if k != TrialKind.ATTENTION]
        ),
        allow_empty=False,
    )
    n_stimuli = serializers.SerializerMethodField()
    n_sessions = serializers.SerializerMethodField()
    participant_link = serializers.SerializerMethodField()
    pointing_tolerance = serializers.SerializerMethodField(
        help_text="the pointing project's scoring tolerance in pixels (null: no project)"
    )

    class Meta:
        model = Study
        fields = [
            "id",
            "title",
            "slug",
            "status",
            "blinded",
            "trial_kinds",
            "trials_per_participant",
            "practice_trials",
            "likert_points",
            "rating_question",
            "pairwise_question",
            "forward_question",
            "pointing_question",
            "distinction_question",
            "distinction_k",
            "ask_confidence",
            "confidence_question",
            "attention_checks",
            "attention_every",
            "max_failed_checks",
            "screen_out_failed_checks",
            "min_response_ms",
            "time_limit_seconds",
            "consent_text",
            "instructions_text",
            "completion_code",
            "screen_out_code",
            "redirect_url",
            "pointing_project",
            "pointing_tolerance",
            "overlay_normalization",
            "overlay_threshold",
            "seed",
            "n_stimuli",
            "n_sessions",
            "participant_link",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def get_pointing_tolerance(self, study: Study) -> float | None:
        from wherewhen.scoring.services import settings_for

        if study.pointing_project is None:
            return None
        return settings_for(study.pointing_project).tolerance

    def get_n_stimuli(self, obj: Study) -> int:
        return obj.stimuli.count()

    def get_n_sessions(self, obj: Study) -> int:
        return obj.sessions.filter(preview=False).count()

    def get_participant_link(self, obj: Study) -> str:
        return f"/p/{obj.slug}"

    def validate_likert_points(self, value: int) -> int:
        if not limits.LIKERT_POINTS_MIN <= value <= limits.LIKERT_POINTS_MAX:
            raise serializers.ValidationError(
                f"A rating scale has {limits.LIKERT_POINTS_MIN} to {limits.LIKERT_POINTS_MAX} "
                f"points; got {value}."
            )
        return value

    def get_fields(self):
        fields = super().get_fields()
        for name, (low, high) in limits.STUDY_BOUNDS.items():
            fields[name].validators.append(_between(low, high))
        # Only projects the designer may see: another researcher's project id answers exactly
        # like an id that does not exist (nobody can probe which ids exist).
        request = self.context.get("request")
        if "pointing_project" in fields and request is not None:
            from wherewhen.annotations import services as annotation_services

            fields["pointing_project"].queryset = annotation_services.projects_visible_to(
                request.user
            )
        return fields

    def validate(self, attrs):
        completion = attrs.get("completion_code", getattr(self.instance, "completion_code", None))
        screen_out = attrs.get("screen_out_code", getattr(self.instance, "screen_out_code", None))
        if completion and screen_out and completion.strip() == screen_out.strip():
            raise serializers.ValidationError(
                {
                    "screen_out_code": "The screen-out code must differ from the completion "
                    "code, so the recruitment platform can tell them apart."
                }
            )
        return attrs

    def validate_attention_checks(self, value):
        if not isinstance(value, list):
            raise serializers.ValidationError("A list of checks.")
        if len(value) > limits.ATTENTION_CHECKS_MAX:
            raise serializers.ValidationError(
                f"At most {limits.ATTENTION_CHECKS_MAX} attention checks; got {len(value)}."
            )
        for check in value:
            if (
                not isinstance(check, dict)
                or not str(check.get("prompt", "")).strip()
                or not isinstance(check.get("choices"), list)
                or check.get("answer") not in check["choices"]
            ):
                raise serializers.ValidationError(
                    "Each check needs a prompt, a list of choices and an answer among them."
                )
        return value


class CoverageSerializer(serializers.Serializer):
    shown = serializers.IntegerField(help_text="frames that draw at least one pixel")
    frames = serializers.IntegerField()
    mostly_blank = serializers.BooleanField()


class StimulusSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="explanation.model.name", default=None)
    video_title = serializers.CharField(source="video.title")
    coverage = serializers.SerializerMethodField(
        help_text="frames that show something under the study's overlay rule"
    )

    class Meta:
        model = Stimulus
        fields = [
            "id",
            "token",
            "explanation",
            "method",
            "model",
            "video",
            "video_title",
            "coverage",
            "allow_sparse",
        ]
        read_only_fields = ["allow_sparse"]

    @extend_schema_field(CoverageSerializer(allow_null=True))
    def get_coverage(self, obj: Stimulus) -> dict | None:
        from wherewhen.studies.services import coverage_for

        try:
            study = obj.study
            return coverage_for(
                obj.explanation, study.overlay_normalization, study.overlay_threshold
            ).as_dict()
        except (FileNotFoundError, ValueError):
            return None


class AddStimuliSerializer(serializers.Serializer):
    explanations = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    allow_sparse = serializers.BooleanField(
        default=False,
        help_text="add maps that would show nothing on most frames under the study's overlay "
        "(a method that keeps only key frames, such as STAA+); otherwise they are refused",
    )


class StartSerializer(serializers.Serializer):
    params = BoundedDictField(
        child=serializers.CharField(allow_blank=True), max_bytes=PARAMS_MAX_BYTES
    )
    viewport = BoundedDictField(max_bytes=VIEWPORT_MAX_BYTES, required=False)


class StageSerializer(serializers.Serializer):
    session = serializers.CharField(required=False)
    stage = serializers.ChoiceField(
        choices=["consent", "instructions", "trials", "done", "screened_out", "returned"]
    )
    title = serializers.CharField()
    consent_text = serializers.CharField()
    instructions_text = serializers.CharField()
    progress = serializers.DictField(child=serializers.IntegerField())
    time_limit_seconds = serializers.IntegerField()
    completion_code = serializers.CharField(allow_null=True)
    screen_out_code = serializers.CharField(
        allow_null=True, help_text="set when the session ended on failed attention checks"
    )
    redirect_url = serializers.CharField(allow_null=True)


class ConsentSerializer(serializers.Serializer):
    agree = serializers.BooleanField()


class StimulusScheduleSerializer(serializers.Serializer):
    times = serializers.ListField(child=serializers.FloatField(), help_text="change points (s)")
    rows = serializers.ListField(
        child=serializers.IntegerField(), help_text="map row shown from each change point on"
    )


class ParticipantStimulusSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField(allow_null=True)
    class_label = serializers.CharField(
        allow_null=True, help_text="distinction trials: the class this explanation is for"
    )
    video_url = serializers.CharField()
    map_url = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    grid = serializers.ListField(child=serializers.IntegerField())
    temporal = serializers.ListField(child=serializers.FloatField())
    timestamps = serializers.ListField(child=serializers.FloatField())
    view = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="[x0, y0, x1, y1] in video pixels: the part of the frame the map covers",
    )
    schedule = StimulusScheduleSerializer(
        allow_null=True,
        help_text="whole-video explanations: which map row shows at time t (rows[i] for the "
        "last times[i] <= t); null when the map rows follow ``timestamps``",
    )


class DisplayRuleSerializer(serializers.Serializer):
    normalization = serializers.ChoiceField(choices=["frame", "clip"])
    threshold = serializers.FloatField()


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class ConfidencePromptSerializer(serializers.Serializer):
    question = serializers.CharField()
    min = serializers.IntegerField()
    max = serializers.IntegerField()


class ParticipantTrialSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    total = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TrialKind.values)
    practice = serializers.BooleanField()
    question = serializers.CharField()
    stimuli = ParticipantStimulusSerializer(many=True)
    choices = ChoiceSerializer(many=True)
    likert_points = serializers.IntegerField()
    time_limit_seconds = serializers.IntegerField()
    served_at = serializers.DateTimeField(
        allow_null=True, help_text="when the trial was first served (null in a designer preview)"
    )
    display = DisplayRuleSerializer(help_text="how the overlay is drawn (as the player's rule)")
    confidence = ConfidencePromptSerializer(
        allow_null=True, help_text="asked with the answer (as answer.confidence) when not null"
    )


class TrialPreviewQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TrialKind.values)


class ReturnedSerializer(serializers.Serializer):
    participant = serializers.CharField(max_length=200)


class AnswerSerializer(serializers.Serializer):
    index = serializers.IntegerField(min_value=0)
    response_id = serializers.CharField(max_length=64)
    answer = BoundedDictField(max_bytes=ANSWER_MAX_BYTES, max_depth=6)
    client_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    client_times = BoundedDictField(max_bytes=CLIENT_TIMES_MAX_BYTES, required=False)
    viewport = BoundedDictField(max_bytes=VIEWPORT_MAX_BYTES, required=False)


class AnswerResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    accepted = serializers.BooleanField()
    late = serializers.BooleanField()
    stage = serializers.CharField()
    feedback = serializers.CharField(allow_null=True)
