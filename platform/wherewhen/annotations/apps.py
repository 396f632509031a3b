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

        from django.db.models.signals import post_save

        from wherewhen.annotations.models import Assignment

        post_save.connect(
            _assignment_saved, sender=Assignment, dispatch_uid="wherewhen.annotations.exposure"
        )


def _assignment_saved(sender, instance, created: bool = False, raw: bool = False, **kwargs) -> None:
    """A new assignment in a project that shows model predictions exposes its annotator."""
    if created and not raw:
        from wherewhen.annotations.services import assignment_started

        assignment_started(instance)
