from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "tandem.plans"
    label = "plans"

    def ready(self) -> None:
        from tandem.lib import worklist
        from tandem.plans.worklist import acknowledge_plan_changes

        worklist.register(acknowledge_plan_changes)
