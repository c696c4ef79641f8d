from django.apps import AppConfig


class EvalSessionsConfig(AppConfig):
    name = "sessions"
    # django.contrib.sessions owns the label "sessions".
    label = "eval_sessions"
    verbose_name = "Evaluation sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: models may be imported only once the app
        # registry is ready (Django's app loading), which this method is for.
        from judging.signals import override_created
        from sessions.services.judgments import score_summary_refresh_after_override

        override_created.connect(score_summary_refresh_after_override, dispatch_uid="sessions.score_summary")
