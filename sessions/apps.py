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

        override_created.connect(_score_summary_refresh, dispatch_uid="sessions.score_summary")
        health_check_register(name="work", check=_check_work)  # /healthz: stalled sessions


# The services and the sweep are imported when first used, not in ready(): they pull in
# the parsers, openpyxl and the probes, which a process that only judges (``manage.py
# judge``) never needs, and every process pays for what ready() imports at start-up.
def _score_summary_refresh(**kwargs) -> None:
    from sessions.services.judgments import score_summary_refresh_after_override

    score_summary_refresh_after_override(**kwargs)


def _check_work() -> dict:
    from sessions.sweep import check_work

    return check_work()
