from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "tandem.fhir"
    label = "fhir"

    def ready(self) -> None:
        # Every resource type registers itself when its module is imported.
        from tandem.fhir import bulk_jobs, resources  # noqa: F401

        # Periodic due work run by `tandem worker` (tandem/core/jobs.py).
        bulk_jobs.register_jobs()
