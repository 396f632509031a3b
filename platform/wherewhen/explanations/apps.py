from django.apps import AppConfig


class ExplanationsConfig(AppConfig):
    name = "wherewhen.explanations"
    label = "explanations"
    verbose_name = "Models and explanations"

    def ready(self) -> None:
        from wherewhen.explanations import cleanup

        cleanup.connect()
