from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "tandem.fhir"
    label = "fhir"

    def ready(self) -> None:
        # Every resource type registers itself when its module is imported.
        from tandem.fhir import resources  # noqa: F401
