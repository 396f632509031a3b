"""The explanations API's shapes (models, explanations, maps, ground truth, flags, exports,
bulk runs): one concern in one module, as every view of the app answers with these and they
share summaries.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wherewhen.explanations import services
from wherewhen.explanations.models import (
    BulkRun,
    Device,
    Explanation,
    Export,
    Flag,
    RegisteredModel,
)
from wherewhen.explanations.windows_serializers import WindowsSerializer
from wherewhen.videos import services as video_services
from wherewhen.videos.models import Video

MODALITIES = ["video", "audio"]


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


# --- Models -------------------------------------------------------------------------------------


class RegisteredModelSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(
        source="owner.username", read_only=True, default=None, allow_null=True
    )
    labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    input_spec = serializers.DictField(read_only=True)
    grid = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    num_classes = serializers.SerializerMethodField()
    modalities = serializers.ListField(
        child=serializers.ChoiceField(choices=MODALITIES),
        read_only=True,
        help_text='["video"], or ["video", "audio"] for an audio-visual model (it needs sound)',
    )
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = [
            "id",
            "name",
            "description",
            "architecture",
            "checkpoint_dir",
            "labels",
            "num_classes",
            "modalities",
            "input_spec",
            "grid",
            "device",
            "public",
            "bundled",
            "owner",
            "can_edit",
            "created_at",
        ]
        read_only_fields = fields

    def get_num_classes(self, obj: RegisteredModel) -> int:
        return len(obj.labels or [])

    def get_can_edit(self, obj: RegisteredModel) -> bool:
        request = self.context.get("request")
        return bool(request and services.can_edit_model(request.user, obj))


class RegisteredModelCreateSerializer(serializers.Serializer):
    name = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        max_length=100,
        error_messages={
            "invalid": "Use letters, digits, '.', '_' and '-' only, starting with a letter or digit."
        },
    )
    checkpoint_dir = serializers.CharField(
        max_length=1000, help_text="Absolute path of the checkpoint directory on the workers"
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    device = serializers.ChoiceField(choices=Device.choices, default=Device.AUTO)
    public = serializers.BooleanField(default=False)


class RegisteredModelUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = RegisteredModel
        fields = ["description", "device", "public"]


# --- Explanations -------------------------------------------------------------------------------


class VideoSummarySerializer(serializers.ModelSerializer):
    playback_url = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id",
            "title",
            "status",
            "width",
            "height",
            "duration",
            "fps",
            "label",
            "playback_url",
        ]
        read_only_fields = fields

    def get_playback_url(self, obj: Video) -> str | None:
        return video_services.playback_url(obj, self.context.get("request"))


class ModelSummarySerializer(serializers.ModelSerializer):
    num_classes = serializers.SerializerMethodField()
    modalities = serializers.ListField(
        child=serializers.ChoiceField(choices=MODALITIES), read_only=True
    )

    class Meta:
        model = RegisteredModel
        fields = ["id", "name", "architecture", "num_classes", "modalities"]
        read_only_fields = fields

    def get_num_classes(self, obj: RegisteredModel) -> int:
        return len(obj.labels or [])


class ExplanationRenameSerializer(serializers.Serializer):
    name = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="trimmed; at most 120 characters; blank brings back the default name",
    )


class PredictionSerializer(serializers.Serializer):
    label_index = serializers.IntegerField()
    label = serializers.CharField()
    probability = serializers.FloatField()


class CostSerializer(serializers.Serializer):
    forward_passes = serializers.IntegerField(required=False)
    backward_passes = serializers.IntegerField(required=False)
    wall_seconds = serializers.FloatField(required=False)
    peak_memory_bytes = serializers.IntegerField(required=False)


class AudioCurveSerializer(serializers.Serializer):
    importance = serializers.ListField(
        child=serializers.FloatField(), help_text="importance of each audio token (A)"
    )
    times = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        help_text="[start, end) source seconds of each audio token (A x 2)",
    )


class ExplanationSerializer(serializers.ModelSerializer):
    params = serializers.DictField(read_only=True)
    video = VideoSummarySerializer(read_only=True)
    model = ModelSummarySerializer(read_only=True, allow_null=True)
    requested_by = serializers.CharField(
        source="requested_by.username", default=None, allow_null=True
    )
    explained_label = serializers.SerializerMethodField()
    grid = serializers.ListField(child=serializers.IntegerField())
    temporal = serializers.ListField(child=serializers.FloatField())
    timestamps = serializers.ListField(child=serializers.FloatField())
    value_range = serializers.ListField(child=serializers.FloatField())
    topk = PredictionSerializer(many=True)
    cost = CostSerializer()
    audio = AudioCurveSerializer(
        allow_null=True,
        help_text="when the sound matters (audio-visual models); null for video-only ones",
    )
    view = serializers.SerializerMethodField(
        help_text="[x0, y0, x1, y1] in video pixels: the rectangle of the frame the model saw "
        "(its map's cells tile it; the rest was not seen); the whole frame unless the model "
        "crops; null while the video's size is unknown"
    )
    windows = WindowsSerializer(allow_null=True, help_text=WindowsSerializer.HELP)
    status_url = serializers.SerializerMethodField()
    map_url = serializers.SerializerMethodField()
    flag_count = serializers.SerializerMethodField()
    can_rename = serializers.SerializerMethodField(
        help_text="the caller may rename it (PATCH with a name)"
    )

    class Meta:
        model = Explanation
        fields = [
            "id",
            "status",
            "progress",
            "error",
            "source",
            "method",
            "label",
            "name",
            "can_rename",
            "params",
            "target",
            "explained_target",
            "explained_label",
            "clip_start",
            "clip_end",
            "windowed",
            "video",
            "model",
            "grid",
            "temporal",
            "timestamps",
            "value_range",
            "topk",
            "cost",
            "audio",
            "view",
            "windows",
            "attempts",
            "batch_size",
            "requested_by",
            "created_at",
            "queued_at",
            "started_at",
            "finished_at",
            "status_url",
            "map_url",
            "flag_count",
        ]
        read_only_fields = fields

    def get_explained_label(self, obj: Explanation) -> str | None:
        if obj.explained_target is None or obj.model is None:
            return None
        labels = obj.model.labels or []
        return labels[obj.explained_target] if 0 <= obj.explained_target < len(labels) else None

    @extend_schema_field(
        serializers.ListField(
            child=serializers.FloatField(), min_length=4, max_length=4, allow_null=True
        )
    )
    def get_view(self, obj: Explanation) -> list[float] | None:
        return obj.view_rect()

    def get_status_url(self, obj: Explanation) -> str:
        return _absolute(self.context.get("request"), reverse("explanation-status", args=[obj.pk]))

    def get_map_url(self, obj: Explanation) -> str | None:
        if obj.status != Explanation.Status.DONE:
            return None
        return _absolute(self.context.get("request"), reverse("explanation-map", args=[obj.pk]))

    def get_can_rename(self, obj: Explanation) -> bool:
        request = self.context.get("request")
        return bool(request and services.can_rename(request.user, obj))

    def get_flag_count(self, obj: Explanation) -> int:
        count = getattr(obj, "flag_count", None)
        return int(count) if count is not None else obj.flags.count()


class ExplanationRequestSerializer(serializers.Serializer):
    video = serializers.IntegerField(help_text="video id")
    model = serializers.IntegerField(help_text="registered model id")
    method = serializers.CharField(max_length=64)
    params = serializers.JSONField(required=False, default=dict)
    target = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="class index (default: top-1)"
    )
    clip_start = serializers.FloatField(required=False, allow_null=True, default=None)
    clip_end = serializers.FloatField(required=False, allow_null=True, default=None)
    windowed = serializers.BooleanField(default=False, help_text=WindowsSerializer.REQUEST_HELP)


class ExplanationAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Explanation.Status.choices)
    created = serializers.BooleanField(help_text="a new explanation was created")
    queued = serializers.BooleanField(help_text="a computation was queued for this request")
    status_url = serializers.URLField()
    url = serializers.URLField()


class ExplanationStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Explanation.Status.choices)
    progress = serializers.FloatField()
    error = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    queued_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class MapPayloadSerializer(serializers.Serializer):
    shape = serializers.ListField(child=serializers.IntegerField(), help_text="[T, h, w]")
    dtype = serializers.ChoiceField(choices=["uint8"])
    offset = serializers.FloatField(help_text="value = offset + scale * q")
    scale = serializers.FloatField()
    data = serializers.CharField(help_text="base64 of the row-major uint8 array")


class ImportSerializer(serializers.Serializer):
    video = serializers.IntegerField()
    method = serializers.CharField(max_length=64, help_text="name of the method that made it")
    model = serializers.IntegerField(required=False, allow_null=True, default=None)
    target = serializers.IntegerField(required=False, allow_null=True, default=None)
    file = serializers.FileField(
        help_text=".npz with map (T x h x w) and timestamps (T); optionally temporal (T), "
        "audio (A) and audio_times (A x 2)"
    )


class MethodSerializer(serializers.Serializer):
    name = serializers.CharField()
    family = serializers.ChoiceField(choices=["fast", "slow"])
    summary = serializers.CharField()
    class_specific = serializers.BooleanField()
    needs_attention = serializers.BooleanField()
    audio_visual = serializers.BooleanField(
        help_text="also explains audio-visual models (with an audio importance curve)"
    )
    defaults = serializers.DictField()
    choices = serializers.DictField(child=serializers.ListField())


# --- Ground truth -------------------------------------------------------------------------------


class GroundTruthFrameSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="map frame")
    time = serializers.FloatField()
    frame = serializers.IntegerField(
        allow_null=True,
        help_text="the annotated frame this map frame is scored against (null: none)",
    )
    boxes = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text="[x0, y0, x1, y1] in source pixels (the scored label's boxes only)",
    )
    counted = serializers.BooleanField(
        help_text="the frame has a box of the scored label that the model saw (inside the view)"
    )
    seen = serializers.BooleanField(
        help_text="false when the frame's boxes all lie outside the view (not seen by the model: "
        "not counted)"
    )
    hit = serializers.BooleanField(allow_null=True, help_text="spatial pointing game")
    point = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="[x, y]: centre of the maximal cell of the float map (draw this, never a "
        "maximum of the quantized map)",
    )


class GroundTruthSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    project = serializers.IntegerField(allow_null=True)
    label = serializers.CharField(
        allow_null=True, help_text="the annotation label whose evidence is scored"
    )
    class_name = serializers.CharField(allow_null=True, help_text="the explained class")
    source_size = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    view = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="[x0, y0, x1, y1]: the rectangle the model saw (the map's cells tile it)",
    )
    tolerance = serializers.FloatField(allow_null=True, help_text="the project's, in pixels")
    frames = GroundTruthFrameSerializer(many=True)
    segments = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))
    temporal_hit = serializers.BooleanField(allow_null=True)
    temporal_peak = serializers.IntegerField(
        allow_null=True, help_text="the map frame the temporal pointing game takes"
    )
    sound_segments = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text='"when" the sound happens: [start, end] seconds',
    )
    sound_hit = serializers.BooleanField(
        allow_null=True, help_text="sound temporal pointing game of the audio curve"
    )
    spatial_accuracy = serializers.FloatField(allow_null=True)


# --- Flags, exports, bulk runs ------------------------------------------------------------------


class FlagSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = Flag
        fields = [
            "id",
            "explanation",
            "author",
            "reason",
            "comment",
            "time",
            "resolved",
            "created_at",
        ]
        read_only_fields = ["id", "explanation", "author", "created_at"]


class FlagCreateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Flag
        fields = ["reason", "comment", "time"]

    def validate(self, attrs):
        if (
            attrs.get("reason", Flag.Reason.OTHER) == Flag.Reason.OTHER
            and not attrs.get("comment", "").strip()
        ):
            raise serializers.ValidationError({"comment": "Say what is wrong in a comment."})
        time = attrs.get("time")
        if time is not None and time < 0:
            raise serializers.ValidationError({"time": "The time must be 0 or more seconds."})
        return attrs


class FlagUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Flag
        fields = ["resolved", "comment"]


class ExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "explanation",
            "kind",
            "options",
            "status",
            "error",
            "size_bytes",
            "download_url",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_download_url(self, obj: Export) -> str | None:
        if obj.status != Export.Status.DONE:
            return None
        return _absolute(
            self.context.get("request"), reverse("explanation-export-download", args=[obj.pk])
        )


class ExportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Export.Kind.choices)
    options = serializers.JSONField(
        required=False, default=dict, help_text="colormap, opacity (0..1), threshold (0..1)"
    )


class BulkProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    running = serializers.IntegerField()
    queued = serializers.IntegerField()
    finished = serializers.IntegerField()
    fraction = serializers.FloatField()
    eta_seconds = serializers.FloatField(allow_null=True)
    state = serializers.ChoiceField(choices=["running", "finished"])


class BulkRunSerializer(serializers.ModelSerializer):
    methods = serializers.ListField(child=serializers.CharField(), read_only=True)
    params = serializers.DictField(read_only=True)
    skipped = serializers.ListField(child=serializers.DictField(), read_only=True)
    dataset_name = serializers.CharField(source="dataset.name", read_only=True)
    model_name = serializers.CharField(source="model.name", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = BulkRun
        fields = [
            "id",
            "dataset",
            "dataset_name",
            "model",
            "model_name",
            "methods",
            "params",
            "target",
            "skipped",
            "created_at",
            "progress",
        ]
        read_only_fields = fields

    @extend_schema_field(BulkProgressSerializer)
    def get_progress(self, obj: BulkRun) -> dict:
        return services.bulk_progress(obj)


class BulkRunCreateSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(required=False, help_text="dataset id")
    dataset_name = serializers.CharField(
        required=False, max_length=200, help_text="or the name of one of your datasets"
    )
    model = serializers.IntegerField()
    methods = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1)
    params = serializers.JSONField(required=False, default=dict, help_text="method -> parameters")
    target = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if "dataset" not in attrs and not attrs.get("dataset_name"):
            raise serializers.ValidationError({"dataset": "Give the dataset's id or name."})
        return attrs
