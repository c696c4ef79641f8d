"""Store embeddings as ``halfvec`` and rebuild the HNSW indexes on it.

Half-precision vectors take half the space of ``vector`` in the table and the index,
so a million-chunk index stays in memory, at the same recall (docs/benchmarks.md).
Existing vectors are converted in place. Every per-dimension index (those of 0002 and
any that ``vector_index_ensure`` made for another dimension) is dropped before the
column changes type, so PostgreSQL does not rebuild them once on the old expression,
and made again on the new one afterwards.
"""

import pgvector.django
from django.db import migrations

DEFAULT_DIMENSIONS = (384, 768, 1024, 1536)
# The most dimensions pgvector's HNSW indexes per type.
MAX_INDEXED = {"vector": 2000, "halfvec": 4000}


def _index_dimensions(cursor) -> set[int]:
    cursor.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'corpora_chunk' AND indexname LIKE 'chunk\\_embedding\\_hnsw\\_%'"
    )
    return {int(name.rsplit("_", 1)[1]) for (name,) in cursor.fetchall()} | set(DEFAULT_DIMENSIONS)


def _create_sql(dim: int, kind: str) -> str:
    # ef_construction 128 for the new indexes (0002 used 64): the graph it builds on
    # clustered embeddings leaves no cluster out of reach (docs/benchmarks.md).
    ef_construction = 128 if kind == "halfvec" else 64
    return (
        f"CREATE INDEX IF NOT EXISTS chunk_embedding_hnsw_{dim} ON corpora_chunk "
        f"USING hnsw ((embedding::{kind}({dim})) {kind}_cosine_ops) "
        f"WITH (m = 16, ef_construction = {ef_construction}) WHERE vector_dims(embedding) = {dim}"
    )


def _drop_indexes(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        dims = _index_dimensions(cursor)
        for dim in sorted(dims):
            cursor.execute(f"DROP INDEX IF EXISTS chunk_embedding_hnsw_{dim}")
        # Remembered for the second step (same connection, same migration run).
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS _hnsw_dims (dim int) ON COMMIT DROP")
        cursor.execute("INSERT INTO _hnsw_dims SELECT unnest(%s::int[])", [sorted(dims)])


def _create_indexes(kind: str):
    def create(apps, schema_editor) -> None:
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT dim FROM _hnsw_dims ORDER BY dim")
            dims = [dim for (dim,) in cursor.fetchall()]
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            for dim in dims:
                if dim <= MAX_INDEXED[kind]:
                    cursor.execute(_create_sql(dim, kind))

    return create


class Migration(migrations.Migration):
    dependencies = [("corpora", "0002_hnsw_indexes")]
    operations = [
        migrations.RunPython(_drop_indexes, _create_indexes("vector")),
        migrations.AlterField(
            model_name="chunk",
            name="embedding",
            field=pgvector.django.HalfVectorField(blank=True, null=True),
        ),
        migrations.RunPython(_create_indexes("halfvec"), _drop_indexes),
    ]
