from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "wherewhen.studies"
    label = "studies"
    verbose_name = "Human-evaluation studies"
