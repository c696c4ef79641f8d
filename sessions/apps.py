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
        from core.health import health_check_register
        from judging.signals import override_created
        from sessions.services.judgments import score_summary_refresh_after_override
        from sessions.sweep import check_work

        override_created.connect(score_summary_refresh_after_override, dispatch_uid="sessions.score_summary")
        health_check_register(name="work", check=check_work)  # /healthz: stalled sessions
