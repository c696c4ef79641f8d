import pytest
from django.db import connection

from corpora.models import Chunk, Corpus, Document

pytestmark = pytest.mark.django_db


def test_database_has_the_vector_extension():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    assert row is not None
    major, minor = (int(part) for part in row[0].split(".")[:2])
    assert (major, minor) >= (0, 8)


def test_vector_column_round_trips(team):
    corpus = Corpus.objects.create(team=team, name="c")
    document = Document.objects.create(corpus=corpus, sha256="a" * 64, original_name="x.txt")
    vector = [0.25, -0.5, 0.125] + [0.0] * 381
    chunk = Chunk.objects.create(
        corpus=corpus,
        document=document,
        key="k1",
        ordinal=0,
        text="Low-rank adapters",
        source_tag="[Doc: x.txt]",
        embedding=vector,
    )
    stored = Chunk.objects.get(pk=chunk.pk)
    assert list(stored.embedding) == pytest.approx(vector)
    # The generated full-text column is maintained by PostgreSQL itself.
    assert Chunk.objects.filter(search_vector="adapter").count() == 1
