from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "wherewhen.core"
    label = "core"
    verbose_name = "Platform core"
