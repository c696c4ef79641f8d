"""The demo: a team and login, the sample corpus, one evaluation session end to end."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.models import Membership
from accounts.services import membership_grant, team_create, user_ensure
from core.runmode import worker_available
from scripts.make_sample_corpus import write_sample_corpus
from sessions.models import EvaluationSession
from sessions.selectors import session_report
from sessions.summary_text import render_summary

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_CORPUS = "SAT sample"
DEMO_SESSION = "SAT sample questions"


class Command(BaseCommand):
    help = "Create the demo team and login, ingest the sample corpus and run one evaluation session."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fresh", action="store_true", help="run the evaluation again even if it ran before")
        parser.add_argument("--no-robustness", action="store_true", help="skip the judge robustness probes")
        parser.add_argument(
            "--wait-for-worker", type=int, default=0, metavar="SECONDS", help="wait this long for a worker to start"
        )

    def handle(
        self, *args, fresh: bool = False, no_robustness: bool = False, wait_for_worker: int = 0, **options
    ) -> None:
        team = team_create(name="Demo team", slug="demo")
        user = user_ensure(username=DEMO_USER, password=DEMO_PASSWORD)
        membership_grant(team=team, user=user, role=Membership.Role.ADMIN)

        if wait_for_worker:
            self._wait_for_worker(wait_for_worker)
        out = Path(settings.BASE_DIR) / "var" / "demo"
        files = write_sample_corpus(out=out)
        self.stdout.write(f"Sample corpus written to {out} ({len(files)} files, made by scripts/make_sample_corpus.py)")
        documents = [str(out / name) for name in ("sat_paper.pdf", "sat_results.xlsx", "sat_blog.html")]
        call_command("ingest", "--team", team.slug, "--corpus", DEMO_CORPUS, *documents, stdout=self.stdout)

        done = (
            EvaluationSession.objects.filter(
                team=team,
                name=DEMO_SESSION,
                status__in=[EvaluationSession.Status.COMPLETED, EvaluationSession.Status.COMPLETED_WITH_ERRORS],
            )
            .order_by("-created_at")
            .first()
        )
        if done is not None and not fresh:
            self.stdout.write(f"The demo session ran before (#{done.pk}); its summary:")
            self.stdout.write(render_summary(session_report(session=done)))
        else:
            args = ["--team", team.slug, "--corpus", DEMO_CORPUS, "--questions", str(out / "questions.json")]
            args += ["--name", DEMO_SESSION]
            if not no_robustness:
                args.append("--robustness")
            call_command("evaluate", *args, stdout=self.stdout)
        self.stdout.write(f"Demo login: {DEMO_USER} / {DEMO_PASSWORD} (team {team.name})")

    def _wait_for_worker(self, seconds: int) -> None:
        self.stdout.write(f"Waiting up to {seconds}s for the worker to start …")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if worker_available(timeout=1.0):
                self.stdout.write("Worker is up.")
                return
        self.stdout.write("No worker answered; the demo runs in this process instead.")
