from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class MeasuresConfig(AppConfig):
    name = "tandem.measures"
    label = "measures"

    def ready(self) -> None:
        # Every instrument definition is checked at start-up: a bad one stops the server here,
        # not on the first patient who answers it.
        from django.db.models.signals import post_save

        from tandem.measures import reminders
        from tandem.measures.definitions import DefinitionError, registry
        from tandem.measures.models import InstrumentResponse
        from tandem.measures.signals import job

        try:
            registry()
        except DefinitionError as exc:
            raise ImproperlyConfigured(f"Instrument definition: {exc}") from exc
        # Each scored PHQ-9 or GAD-7, however it arrives (portal, session, FHIR), recomputes the
        # patient's treat-to-target signals once it is committed.
        post_save.connect(job.recompute_after_commit, sender=InstrumentResponse, dispatch_uid="measures.t2t")
        job.register_jobs()
        # Periodic due work run by `tandem worker` (tandem/core/jobs.py): questionnaire reminders.
        reminders.register_jobs()
