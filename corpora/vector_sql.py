"""SQL for the per-dimension vector indexes and the matching search expression.

Embeddings are stored as ``halfvec`` (16-bit floats): half the disk and cache of
``vector`` for the same recall (docs/benchmarks.md), and HNSW indexes up to 4,000
dimensions instead of 2,000. Queries must use ``search_expression`` so the planner
matches the partial index of the corpus's dimension.
"""

# HNSW build parameters. m=16 is pgvector's default; ef_construction=128 (default 64)
# because with 64 the graph built over clustered embeddings left some clusters nearly
# out of reach, and queries there found none of their true neighbours (recall 0 for 5%
# of the queries at 300k chunks, none at 128 for 22% more build time; docs/benchmarks.md).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
# HNSW on halfvec indexes at most 4,000 dimensions; larger ones are searched exactly.
MAX_INDEXED_DIMENSION = 4000


def index_name(dim: int) -> str:
    return f"chunk_embedding_hnsw_{dim}"


def search_expression(dim: int, *, column: str = "embedding") -> str:
    """The indexed expression: the column cast to the corpus's dimension."""
    return f"{column}::halfvec({int(dim)})"


def dimension_filter(dim: int, *, column: str = "embedding") -> str:
    """The partial index's predicate; a query must repeat it to use the index."""
    return f"vector_dims({column}) = {int(dim)}"


def create_index_sql(dim: int, *, concurrently: bool = False) -> str:
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}IF NOT EXISTS {index_name(dim)} ON corpora_chunk "
        f"USING hnsw (({search_expression(dim)}) halfvec_cosine_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
        f"WHERE {dimension_filter(dim)}"
    )


def drop_index_sql(dim: int) -> str:
    return f"DROP INDEX IF EXISTS {index_name(dim)}"
