"""factory_boy factories for corpora rows (no parsing or embedding involved)."""

from __future__ import annotations

import hashlib

import factory

from corpora.models import Corpus, Document


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "accounts.Team"

    name = factory.Sequence(lambda n: f"Factory team {n}")
    slug = factory.Sequence(lambda n: f"factory-team-{n}")


class CorpusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Corpus

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Corpus {n}")
    embedding_model = "local:all-MiniLM-L6-v2"
    embedding_dimension = 384


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    corpus = factory.SubFactory(CorpusFactory)
    original_name = factory.Sequence(lambda n: f"doc-{n}.md")
    title = factory.LazyAttribute(lambda o: o.original_name.rsplit(".", 1)[0])
    source_type = Document.SourceType.MARKDOWN
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.original_name.encode()).hexdigest())
    status = Document.Status.READY
