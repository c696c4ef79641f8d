"""SQL for the per-dimension vector indexes and the matching search expression."""

# HNSW build parameters: m=16, ef_construction=64 are pgvector's defaults and reach
# recall@10 >= 0.95 at 100k chunks with ef_search=100 (see docs/benchmarks.md).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def index_name(dim: int) -> str:
    return f"chunk_embedding_hnsw_{dim}"


def create_index_sql(dim: int, *, concurrently: bool = False) -> str:
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}IF NOT EXISTS {index_name(dim)} ON corpora_chunk "
        f"USING hnsw ((embedding::vector({dim})) vector_cosine_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
        f"WHERE vector_dims(embedding) = {dim}"
    )


def drop_index_sql(dim: int) -> str:
    return f"DROP INDEX IF EXISTS {index_name(dim)}"
