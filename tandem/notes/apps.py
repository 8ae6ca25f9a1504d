from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "tandem.notes"
    label = "notes"
