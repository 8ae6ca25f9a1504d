from django.apps import AppConfig


class CaretimeConfig(AppConfig):
    name = "tandem.caretime"
    label = "caretime"
    verbose_name = "Care-team time for collaborative-care billing"
