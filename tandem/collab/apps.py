from django.apps import AppConfig


class CollabConfig(AppConfig):
    name = "tandem.collab"
    label = "collab"

    def ready(self) -> None:
        from tandem.collab.worklist import open_alerts
        from tandem.lib import worklist

        worklist.register(open_alerts)

        # Periodic due work run by `tandem worker` (tandem/core/jobs.py).
        from tandem.collab import escalation

        escalation.register_jobs()

        from tandem.collab import digest

        digest.register_jobs()
