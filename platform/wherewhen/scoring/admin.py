from django.contrib import admin

from wherewhen.scoring.models import ExplanationScore, HumanBaseline, ScoreRequest, ScoringSettings


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(admin.ModelAdmin):
    list_display = ("project", "tolerance", "last_run_at")


@admin.register(ScoreRequest)
class ScoreRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "video", "explanation", "reason", "created_at")


@admin.register(ExplanationScore)
class ExplanationScoreAdmin(admin.ModelAdmin):
    list_display = (
        "explanation",
        "project",
        "reference",
        "assignment",
        "frames_counted",
        "frames_hit",
        "temporal_hit",
        "computed_at",
    )
    list_filter = ("reference",)
    raw_id_fields = ("explanation", "project", "assignment")


@admin.register(HumanBaseline)
class HumanBaselineAdmin(admin.ModelAdmin):
    list_display = ("project", "video", "assignment", "frames_counted", "frames_hit")
    raw_id_fields = ("project", "video", "assignment")
