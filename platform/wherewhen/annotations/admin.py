from django.contrib import admin

from wherewhen.annotations.models import Assignment, Keyframe, Project, Segment, Task, Track


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "overlap", "max_overlap", "lease_minutes", "active")
    list_filter = ("active", "show_predictions", "auto_accept")
    search_fields = ("name", "owner__username")
    filter_horizontal = ("annotators",)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "project",
        "video",
        "label",
        "is_gold",
        "extra_overlap",
        "agreement",
        "flagged",
    )
    list_filter = ("is_gold", "flagged", "project")
    raw_id_fields = ("video",)


class SegmentInline(admin.TabularInline):
    model = Segment
    extra = 0


class TrackInline(admin.TabularInline):
    model = Track
    extra = 0
    show_change_link = True


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task",
        "annotator",
        "source",
        "status",
        "lease_expires_at",
        "submitted_at",
    )
    list_filter = ("status", "source")
    search_fields = ("annotator__username",)
    raw_id_fields = ("task", "annotator", "reviewer")
    inlines = [TrackInline, SegmentInline]


class KeyframeInline(admin.TabularInline):
    model = Keyframe
    extra = 0


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("id", "assignment", "label", "order")
    raw_id_fields = ("assignment",)
    inlines = [KeyframeInline]
