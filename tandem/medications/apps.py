from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "tandem.medications"
    label = "medications"

    def ready(self) -> None:
        # Periodic due work run by `tandem worker` (tandem/core/jobs.py).
        from tandem.medications import jobs, lab_jobs, reminders

        reminders.register_jobs()
        lab_jobs.register_jobs()
        jobs.register_jobs()
