from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "tandem.medications"
    label = "medications"

    def ready(self) -> None:
        # Periodic due work run by `tandem worker` (tandem/core/jobs.py).
        from tandem.core import jobs as due_work
        from tandem.medications import jobs, lab_jobs, reminders
        from tandem.medications.actions import advance_regimens

        due_work.register("medications.advance_regimens", 60, advance_regimens)
        reminders.register_jobs()
        lab_jobs.register_jobs()
        jobs.register_jobs()
