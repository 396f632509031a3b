from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "wherewhen.scoring"
    label = "scoring"
    verbose_name = "Scoring and leaderboards"

    def ready(self) -> None:
        # Changes to accepted annotations and finished explanations queue a recompute.
        from wherewhen.scoring import signals

        signals.connect()
