"""python manage.py reembed --team T --corpus NAME --model local:all-MiniLM-L6-v2"""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.commands import team_lookup
from corpora.models import Corpus
from corpora.services import corpus_reembed


class Command(BaseCommand):
    help = "Re-embed every chunk of a corpus with another (or the same) embedding model."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--team", required=True, help="Team slug or name.")
        parser.add_argument("--corpus", required=True, help="Corpus name.")
        parser.add_argument("--model", required=True, help="local:all-MiniLM-L6-v2 or openai:<model>.")

    def handle(self, *args, **options) -> None:
        team = team_lookup(options["team"])
        corpus = Corpus.objects.filter(team=team, name=options["corpus"]).first()
        if corpus is None:
            raise CommandError(f"Team {team.name} has no corpus called {options['corpus']!r}.")
        count = corpus.chunks.count()
        self.stdout.write(f"Re-embedding {count} chunks of {corpus.name!r} with {options['model']} …")
        started = time.monotonic()
        try:
            corpus = corpus_reembed(corpus=corpus, embedding_model=options["model"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {time.monotonic() - started:.1f} s: {corpus.embedding_model}, "
                f"{corpus.embedding_dimension} dimensions, corpus version {corpus.version}."
            )
        )
