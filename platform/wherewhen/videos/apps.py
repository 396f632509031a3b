from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "wherewhen.videos"
    label = "videos"
    verbose_name = "Video library"
