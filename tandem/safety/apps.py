from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "tandem.safety"
    label = "safety"

    def ready(self) -> None:
        from tandem.lib import worklist
        from tandem.safety.worklist import assessments_due

        worklist.register(assessments_due)
