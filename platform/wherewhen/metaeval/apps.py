from django.apps import AppConfig


class MetaevalConfig(AppConfig):
    name = "wherewhen.metaeval"
    label = "metaeval"
    verbose_name = "Meta-evaluation of explanation metrics against human outcomes"

    def ready(self) -> None:
        # A finished demo benchmark builds the demo study (see ``metaeval.signals``).
        from wherewhen.metaeval import signals

        signals.connect()
