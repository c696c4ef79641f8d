from django.apps import AppConfig


class EvalSessionsConfig(AppConfig):
    name = "sessions"
    # django.contrib.sessions owns the label "sessions".
    label = "eval_sessions"
    verbose_name = "Evaluation sessions"
    default_auto_field = "django.db.models.BigAutoField"
