from django.apps import AppConfig


class TherapyConfig(AppConfig):
    name = "tandem.therapy"
    label = "therapy"
