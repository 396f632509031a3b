from django.contrib import admin

from wherewhen.studies.models import Response, Session, Stimulus, Study, Trial


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "status", "owner", "blinded", "created_at"]
    list_filter = ["status", "blinded"]
    search_fields = ["title", "slug"]


@admin.register(Stimulus)
class StimulusAdmin(admin.ModelAdmin):
    list_display = ["token", "study", "method", "video"]
    raw_id_fields = ["explanation", "video", "study"]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["participant_id", "study", "preview", "order_row", "current_index"]
    list_filter = ["preview"]
    search_fields = ["participant_id"]


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    list_display = ["session", "index", "kind", "practice", "condition", "served_at"]
    raw_id_fields = ["session", "stimulus_a", "stimulus_b"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["session", "trial", "correct", "late", "response_ms", "received_at"]
    raw_id_fields = ["session", "trial"]
