import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.errors import DomainError
from core.file_guards import FileRejected, guard_file
from core.json_limits import JSONInputError, json_loads_limited
from core.runmode import judge_concurrency
from judging.models import Rubric
from judging.services import judge_items, rubric_default_ensure
from llm.config import default_provider
from llm.types import Provider


class _Unterminated:
    """The command's stderr without the newline and the error colour Django adds to every
    write (the bar redraws its own line)."""

    def __init__(self, out) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, style_func=str, ending="")

    def flush(self) -> None:
        self.out.flush()


class Command(BaseCommand):
    help = "Judge ready answers: a JSON list of {question, history, context, answer} → verdicts and scores."
    # A batch command that serves no pages: Django's system checks would import every view
    # (and the report renderers behind them) first, over a second of start-up.
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--input", required=True)
        parser.add_argument("--output", required=True)
        parser.add_argument("--rubric", default="", help="rubric name (default: the default rubric)")
        parser.add_argument("--provider", choices=[p.value for p in Provider], default=None)
        parser.add_argument("--model", default="")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="items judged at once (default: JUDGE_CONCURRENCY, else WORKER_CONCURRENCY: a worker's threads)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args, **opts) -> None:
        path = Path(opts["input"])
        if not path.is_file():
            raise CommandError(f"{opts['input']} does not exist.")
        concurrency = judge_concurrency() if opts["concurrency"] is None else opts["concurrency"]
        if concurrency < 1:
            raise CommandError(f"--concurrency must be at least 1 (got {concurrency}).")
        try:
            guard_file(name=path.name, path=path, max_bytes=settings.MAX_UPLOAD_MB * 1024 * 1024)
            payload = json_loads_limited(path.read_bytes().decode("utf-8-sig"))
        except FileRejected as exc:
            raise CommandError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{opts['input']} is not UTF-8 text (byte {exc.start}).") from exc
        except JSONInputError as exc:
            raise CommandError(f"{opts['input']}: {exc}") from exc
        items = payload.get("items") if isinstance(payload, dict) else payload
        if not isinstance(items, list):
            raise CommandError('The input must be a JSON list of items (or {"items": [...]}).')
        if opts["rubric"]:
            rubric = Rubric.objects.filter(name=opts["rubric"]).order_by("-version").first()
            if rubric is None:
                raise CommandError(f"No rubric called {opts['rubric']!r}.")
        else:
            rubric = rubric_default_ensure()
        provider = opts["provider"] or default_provider()
        bar = tqdm(
            total=len(items),
            desc="Judging",
            unit="item",
            file=_Unterminated(self.stderr),
            disable=opts["no_progress"],
            dynamic_ncols=True,
        )
        try:
            results = judge_items(
                items=items,
                rubric=rubric,
                provider=provider,
                model=opts["model"],
                concurrency=concurrency,
                on_done=lambda index, result: bar.update(1),
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        Path(opts["output"]).write_text(json.dumps({"results": results}, indent=2, ensure_ascii=False) + "\n")
        scored = [r["weighted_score"] for r in results if r["weighted_score"] is not None]
        mean = f"{sum(scored) / len(scored):.1f}" if scored else "—"
        for r in results:
            ratings = ", ".join(f"{v['criterion']} {v['rating']}" for v in r["verdicts"])
            self.stdout.write(
                f"#{r['id']}: {r['weighted_score'] if r['weighted_score'] is not None else r['status']} — {ratings}"
            )
        self.stdout.write(
            f"Judged {len(results)} items ({provider}); mean {mean} over {len(scored)} of {len(results)} scored."
            f" Written to {opts['output']}"
        )
