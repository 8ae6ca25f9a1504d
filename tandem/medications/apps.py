from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "tandem.medications"
    label = "medications"
