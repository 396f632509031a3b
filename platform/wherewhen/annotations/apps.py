from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "wherewhen.annotations"
    label = "annotations"
    verbose_name = "Crowd annotation"

    def ready(self) -> None:
        # Annotators may watch the videos of their assignments through the library's
        # stream endpoint too, and researchers the videos of their projects.
        from wherewhen.annotations.services import user_can_view_video
        from wherewhen.videos.services import register_view_hook

        register_view_hook(user_can_view_video)
