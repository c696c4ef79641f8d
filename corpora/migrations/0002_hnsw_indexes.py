"""Partial HNSW (cosine) indexes, one per embedding dimension, on ``vector``.

Chunk.embedding has no fixed dimension so that corpora may use different models; pgvector
can index it per dimension through an expression cast with a matching WHERE clause.
The SQL is written out here as it was: 0003 replaces these indexes with ``halfvec`` ones.
"""

from django.db import migrations

DIMENSIONS = (384, 768, 1024, 1536)


def _create(dim: int) -> str:
    return (
        f"CREATE INDEX IF NOT EXISTS chunk_embedding_hnsw_{dim} ON corpora_chunk "
        f"USING hnsw ((embedding::vector({dim})) vector_cosine_ops) "
        f"WITH (m = 16, ef_construction = 64) WHERE vector_dims(embedding) = {dim}"
    )


class Migration(migrations.Migration):
    dependencies = [("corpora", "0001_initial")]
    operations = [
        migrations.RunSQL(_create(dim), f"DROP INDEX IF EXISTS chunk_embedding_hnsw_{dim}") for dim in DIMENSIONS
    ]
