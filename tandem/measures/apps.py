from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class MeasuresConfig(AppConfig):
    name = "tandem.measures"
    label = "measures"

    def ready(self) -> None:
        # Every instrument definition is checked at start-up: a bad one stops the server here,
        # not on the first patient who answers it.
        from tandem.measures.definitions import DefinitionError, registry

        try:
            registry()
        except DefinitionError as exc:
            raise ImproperlyConfigured(f"Instrument definition: {exc}") from exc
