from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "wherewhen.videos"
    label = "videos"
    verbose_name = "Video library"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from wherewhen.videos import services
        from wherewhen.videos.models import Video

        # However a video goes (API, admin, its owner's account deleted), its files go too.
        post_delete.connect(services.remove_files_after_delete, sender=Video, weak=False)
