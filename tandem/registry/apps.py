from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "tandem.registry"
    label = "registry"
    verbose_name = "Registry and case review"
