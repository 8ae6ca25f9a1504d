from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "tandem.feedback"
    label = "feedback"
