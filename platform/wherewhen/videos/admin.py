from django.contrib import admin

from wherewhen.videos.models import Dataset, Video


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created_at")
    search_fields = ("name",)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "label", "split", "status", "duration", "created_at")
    list_filter = ("status", "split")
    search_fields = ("title", "original_name", "label", "content_hash")
    readonly_fields = (
        "content_hash",
        "size_bytes",
        "frame_timestamps",
        "sprite_meta",
        "source_info",
    )
