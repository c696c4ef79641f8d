import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.file_guards import FileRejected, guard_file
from core.json_limits import JSONInputError, json_loads_limited
from judging.models import Rubric
from judging.services import judge_items, rubric_default_ensure
from llm.config import default_provider
from llm.types import Provider


class Command(BaseCommand):
    help = "Judge ready answers: a JSON list of {question, history, context, answer} → verdicts and scores."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--input", required=True)
        parser.add_argument("--output", required=True)
        parser.add_argument("--rubric", default="", help="rubric name (default: the default rubric)")
        parser.add_argument("--provider", choices=[p.value for p in Provider], default=None)
        parser.add_argument("--model", default="")

    def handle(self, *args, **opts) -> None:
        path = Path(opts["input"])
        if not path.is_file():
            raise CommandError(f"{opts['input']} does not exist.")
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
        try:
            results = judge_items(items=items, rubric=rubric, provider=provider, model=opts["model"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
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
