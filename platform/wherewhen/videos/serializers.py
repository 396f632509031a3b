from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wherewhen.videos.models import Video


class SpriteSerializer(serializers.Serializer):
    """Layout of the thumbnail sprite: ``count`` tiles, row-major, one per time in ``times``."""

    count = serializers.IntegerField()
    columns = serializers.IntegerField()
    rows = serializers.IntegerField()
    tile_width = serializers.IntegerField()
    tile_height = serializers.IntegerField()
    times = serializers.ListField(child=serializers.FloatField())


class VideoSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    datasets = serializers.SerializerMethodField()
    stream_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    sprite_url = serializers.SerializerMethodField()
    original_url = serializers.SerializerMethodField()
    waveform_url = serializers.SerializerMethodField()
    sprite = serializers.SerializerMethodField()
    playback_method = serializers.SerializerMethodField(
        help_text="How the playback file was made: 'remux' (the upload's own streams copied, "
        "it was browser-safe already) or 'transcode' (re-encoded); null until processed."
    )
    playback_reasons = serializers.SerializerMethodField(
        help_text="Why the upload was transcoded rather than copied (empty for a remux)."
    )
    title = serializers.CharField(max_length=255, required=False)

    class Meta:
        model = Video
        fields = [
            "id",
            "title",
            "original_name",
            "label",
            "split",
            "datasets",
            "owner",
            "status",
            "error",
            "progress",
            "size_bytes",
            "content_hash",
            "duration",
            "fps",
            "variable_frame_rate",
            "frame_count",
            "width",
            "height",
            "rotation",
            "video_codec",
            "audio_codec",
            "has_audio",
            "audio_error",
            "playback_method",
            "playback_reasons",
            "stream_url",
            "poster_url",
            "sprite_url",
            "original_url",
            "waveform_url",
            "sprite",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [f for f in fields if f not in ("title", "label", "split")]

    @extend_schema_field(serializers.ChoiceField(choices=["remux", "transcode"], allow_null=True))
    def get_playback_method(self, video: Video) -> str | None:
        return ((video.source_info or {}).get("playback") or {}).get("method")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_playback_reasons(self, video: Video) -> list[str]:
        return list(((video.source_info or {}).get("playback") or {}).get("reasons") or [])

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_datasets(self, video: Video) -> list[str]:
        return sorted(dataset.name for dataset in video.datasets.all())

    def _url(self, video: Video, kind: str, present: bool) -> str | None:
        if not present:
            return None
        return reverse(f"video-{kind}", kwargs={"pk": video.pk})

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_stream_url(self, video: Video) -> str | None:
        return self._url(
            video, "stream", video.status == Video.Status.READY and bool(video.playback)
        )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_poster_url(self, video: Video) -> str | None:
        return self._url(video, "poster", bool(video.poster))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sprite_url(self, video: Video) -> str | None:
        return self._url(video, "sprite", bool(video.sprite))

    @extend_schema_field(serializers.CharField())
    def get_original_url(self, video: Video) -> str:
        return reverse("video-original", kwargs={"pk": video.pk})

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text="The sound's min/max overview (JSON); null for a video without sound",
        )
    )
    def get_waveform_url(self, video: Video) -> str | None:
        present = video.status == Video.Status.READY and video.has_audio and bool(video.waveform)
        return self._url(video, "waveform", present)

    @extend_schema_field(SpriteSerializer(allow_null=True))
    def get_sprite(self, video: Video) -> dict | None:
        meta = video.sprite_meta or {}
        if not video.sprite or not meta:
            return None
        keys = ("count", "columns", "rows", "tile_width", "tile_height", "times")
        return {key: meta.get(key) for key in keys}

    def validate_title(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A title cannot be blank.")
        return value.strip()


class VideoUploadSerializer(serializers.Serializer):
    """Multipart upload: the file and optional descriptive fields."""

    file = serializers.FileField(help_text="The video file (multipart/form-data)")
    title = serializers.CharField(max_length=255, required=False, allow_blank=True)
    label = serializers.CharField(max_length=200, required=False, allow_blank=True)
    split = serializers.CharField(max_length=20, required=False, allow_blank=True)
    dataset = serializers.CharField(max_length=200, required=False, allow_blank=True)


class UploadLimitsSerializer(serializers.Serializer):
    max_upload_bytes = serializers.IntegerField()
    max_dimension = serializers.IntegerField()


class LabelCountSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()


class FrameTimestampsSerializer(serializers.Serializer):
    frame_count = serializers.IntegerField()
    timestamps = serializers.ListField(child=serializers.FloatField())
