import time
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.commands import team_lookup
from core.errors import DomainError
from core.runmode import in_process_tasks, worker_available
from corpora.models import Corpus
from llm.types import Provider
from sessions.models import EvaluationSession
from sessions.question_files import MAX_QUESTION_FILE_BYTES, QuestionFileError, parse_question_file
from sessions.reports import write_report
from sessions.selectors import session_progress, session_report
from sessions.services import session_create, session_start
from sessions.session_settings import K_DEFAULT, REPEATS_DEFAULT, SessionSettings
from sessions.summary_text import render_summary


class Command(BaseCommand):
    help = "Run an evaluation session from a question file, wait for it, print the summary."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--team", required=True, help="team slug or name")
        parser.add_argument("--corpus", required=True, help="corpus name")
        parser.add_argument("--questions", required=True, help=".xlsx/.csv/.json/.txt question file")
        parser.add_argument("--name", default="", help="session name (default: the file name)")
        parser.add_argument("--robustness", action="store_true", help="probe the judge with wrong answers")
        parser.add_argument("--report", default="", help="write the report to OUT.pdf or OUT.xlsx")
        parser.add_argument(
            "--mode",
            default=EvaluationSession.RetrievalMode.HYBRID,
            choices=EvaluationSession.RetrievalMode.values,
        )
        parser.add_argument("-k", "--k", type=int, default=K_DEFAULT, help="passages per question")
        parser.add_argument("--provider", choices=[p.value for p in Provider], help="generator provider")
        parser.add_argument("--judge-provider", choices=[p.value for p in Provider])
        parser.add_argument("--model", default="")
        parser.add_argument("--judge-model", default="")
        parser.add_argument("--repeats", type=int, default=REPEATS_DEFAULT, help="judge each answer k times")
        parser.add_argument("--budget", type=Decimal, default=None, help="stop when this many USD are spent")
        parser.add_argument("--sync", action="store_true", help="run in this process instead of on workers")
        parser.add_argument("--timeout", type=int, default=3600)

    def handle(self, *args, **opts) -> None:
        team = team_lookup(opts["team"])
        corpus = Corpus.objects.filter(team=team, name=opts["corpus"]).first()
        if corpus is None:
            raise CommandError(f"Team {team} has no corpus called {opts['corpus']!r}; create it with `ingest`.")
        path = Path(opts["questions"])
        if not path.is_file():
            raise CommandError(f"{path} does not exist.")
        if path.stat().st_size > MAX_QUESTION_FILE_BYTES:
            raise CommandError(f"{path} is larger than {MAX_QUESTION_FILE_BYTES // (1024 * 1024)} MB.")
        report_path = Path(opts["report"]) if opts["report"] else None
        if report_path and report_path.suffix.lower() not in (".pdf", ".xlsx"):
            raise CommandError("--report must end in .pdf or .xlsx")
        try:
            conversations = parse_question_file(name=path.name, data=path.read_bytes())
            settings = SessionSettings(
                retrieval_mode=opts["mode"],
                retrieval_k=opts["k"],
                generator_provider=opts["provider"],
                generator_model=opts["model"],
                judge_provider=opts["judge_provider"],
                judge_model=opts["judge_model"],
                judge_repeats=opts["repeats"],
                robustness=opts["robustness"],
                budget_usd=opts["budget"],
            )
            session = session_create(
                team=team,
                corpus=corpus,
                name=opts["name"] or path.stem,
                conversations=conversations,
                settings=settings,
            )
        except (QuestionFileError, DomainError) as exc:
            raise CommandError(str(exc)) from exc
        est = session.estimate
        self.stdout.write(
            f"Session #{session.pk}: {est['questions']} questions in {est['conversations']} conversations; "
            f"estimated {est['llm_calls']} LLM calls, ~{est['total_tokens']} tokens"
            + (f", ~${est['usd']}" if est.get("usd") not in (None, "0.0000") else "")
        )
        if opts["sync"] or not worker_available():
            self.stdout.write("No worker answered; running in this process." if not opts["sync"] else "Running here.")
            with in_process_tasks():
                session_start(session=session)
        else:
            session_start(session=session)
            self._wait(session, timeout=opts["timeout"])
        session.refresh_from_db()
        report = session_report(session=session)
        self.stdout.write(render_summary(report))
        if report_path:
            write_report(report=report, path=report_path)
            self.stdout.write(f"Report written to {report_path}")
        if session.status not in (EvaluationSession.Status.COMPLETED, EvaluationSession.Status.COMPLETED_WITH_ERRORS):
            raise CommandError(f"The session ended {session.get_status_display().lower()}.")

    def _wait(self, session: EvaluationSession, *, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            session.refresh_from_db()
            progress = session_progress(session=session)
            line = (
                f"  {progress.percent:3d}% · {progress.answered}/{progress.questions} answered"
                f" · {progress.judged}/{progress.judgments} judged · {progress.status_display}"
            )
            if line != last:
                self.stdout.write(line)
                last = line
            if not session.is_active:
                return
            time.sleep(1)
        raise CommandError(f"Gave up waiting after {timeout}s; the session goes on in the background.")
