from django.apps import AppConfig


class HandoffsConfig(AppConfig):
    name = "tandem.handoffs"
    label = "handoffs"
    verbose_name = "Hand-offs and messages"
