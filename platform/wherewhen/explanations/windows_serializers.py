"""The shapes of a windowed (whole-video) explanation's ``windows`` in the API."""

from __future__ import annotations

from rest_framework import serializers


class CurveSerializer(serializers.Serializer):
    times = serializers.ListField(child=serializers.FloatField(), help_text="source seconds")
    importance = serializers.ListField(
        child=serializers.FloatField(),
        help_text="1 = the typical level of its windows (docs/methods.md, the overlap rule)",
    )


class ScheduleSerializer(serializers.Serializer):
    times = serializers.ListField(child=serializers.FloatField(), help_text="change points (s)")
    rows = serializers.ListField(
        child=serializers.IntegerField(), help_text="map row shown from each change point on"
    )


class WindowsSerializer(serializers.Serializer):
    HELP = (
        "windowed (whole-video) explanations: the windows, the whole-span curve and which map "
        "row shows when; null for one-clip explanations"
    )
    REQUEST_HELP = (
        "explain [clip_start, clip_end) (the whole video when both are null) window by window: "
        "sliding windows of the model's clip length, one map per window frame and one temporal "
        "curve over the whole span"
    )

    window = serializers.FloatField(help_text="window length (s): the model's clip length")
    stride = serializers.FloatField(help_text="seconds between window starts")
    frames_per_window = serializers.IntegerField(help_text="map rows per window (T')")
    spans = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        help_text="[start, end) of each window; window w owns map rows w*T' .. (w+1)*T'-1",
    )
    targets = serializers.ListField(
        child=serializers.IntegerField(), help_text="class explained in each window"
    )
    curve = CurveSerializer(help_text="the temporal importance over the whole span")
    schedule = ScheduleSerializer(
        help_text="which map row shows at time t: rows[i] for the last times[i] <= t"
    )
