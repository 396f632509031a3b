from django.apps import AppConfig


class MetaevalConfig(AppConfig):
    name = "wherewhen.metaeval"
    label = "metaeval"
    verbose_name = "Meta-evaluation of explanation metrics against human outcomes"
