"""Partial HNSW (cosine) indexes, one per embedding dimension.

Chunk.embedding has no fixed dimension so that corpora may use different models; pgvector
can index it per dimension through an expression cast with a matching WHERE clause.
Queries must use the same expression (see corpora.selectors).
"""

from django.db import migrations

from corpora.models import INDEXED_DIMENSIONS
from corpora.vector_sql import create_index_sql, drop_index_sql

class Migration(migrations.Migration):
    dependencies = [("corpora", "0001_initial")]
    operations = [
        migrations.RunSQL(create_index_sql(dim), drop_index_sql(dim)) for dim in INDEXED_DIMENSIONS
    ]
