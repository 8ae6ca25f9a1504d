from django.apps import AppConfig


class TherapyConfig(AppConfig):
    name = "tandem.therapy"
    label = "therapy"

    def ready(self) -> None:
        # Periodic due work run by `tandem worker` (tandem/core/jobs.py): session reminders.
        from tandem.therapy import reminders

        reminders.register_jobs()
