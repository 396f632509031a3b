from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "wherewhen.annotations"
    label = "annotations"
    verbose_name = "Crowd annotation"
