from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import HalfVectorField, VectorField

from accounts.models import Team

# Dimensions that get a partial HNSW index in migrations; another dimension gets one
# created when the first corpus using it is created (corpora.services.vector_index_ensure).
INDEXED_DIMENSIONS = (384, 768, 1024, 1536)


class Corpus(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="corpora")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    embedding_model = models.CharField(max_length=200, default="local:all-MiniLM-L6-v2")
    embedding_dimension = models.PositiveIntegerField(default=384)
    # Bumped whenever the set of ready documents or their embeddings change; judgments
    # record it so a re-judge can tell whether the context could have changed.
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "corpora"
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="corpus_unique_team_name")]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    class SourceType(models.TextChoices):
        PDF = "pdf", "PDF"
        XLSX = "xlsx", "Excel workbook"
        CSV = "csv", "CSV"
        HTML = "html", "HTML"
        WEB = "web", "Web page"
        MARKDOWN = "markdown", "Markdown"
        TEXT = "text", "Plain text"
        UNKNOWN = "unknown", "Unknown"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="documents")
    source_type = models.CharField(max_length=16, choices=SourceType.choices, default=SourceType.UNKNOWN)
    title = models.CharField(max_length=500, blank=True)
    original_name = models.CharField(max_length=500, blank=True)
    file = models.FileField(upload_to="documents/%Y/%m/", blank=True, max_length=500)
    url = models.URLField(max_length=2000, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error_message = models.TextField(blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    page_count = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["corpus", "sha256"], name="document_unique_corpus_sha256")]

    def __str__(self) -> str:
        return self.title or self.original_name or self.url

    @property
    def display_name(self) -> str:
        return self.original_name or self.url or self.title


class Chunk(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="chunks")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    # Deterministic id (document hash, ordinal, text) so a re-run never duplicates a chunk.
    key = models.CharField(max_length=64, unique=True)
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    locator = models.JSONField(default=dict, blank=True)
    heading_path = models.JSONField(default=list, blank=True)
    source_tag = models.CharField(max_length=500)
    # No fixed dimension: each corpus chooses its model; HNSW indexes are partial per dimension.
    # Half precision (corpora.vector_sql): half the memory of `vector` at the same recall.
    embedding = HalfVectorField(null=True, blank=True)
    search_vector = models.GeneratedField(
        expression=SearchVector("text", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["document_id", "ordinal"]
        indexes = [
            GinIndex(fields=["search_vector"], name="chunk_search_vector_gin"),
            models.Index(fields=["corpus", "document"], name="chunk_corpus_document"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["document", "ordinal"], name="chunk_unique_document_ordinal"),
        ]

    def __str__(self) -> str:
        return f"{self.source_tag} {self.text[:60]}"


class StagedChunk(models.Model):
    """A chunk of a document still being ingested, not yet searchable.

    Ingestion commits these batch by batch, so an error or a worker lost part-way through a
    large document keeps what was embedded: the retry (or a requeue) embeds only what is
    missing. The transaction that marks the document ready moves them into ``Chunk``, so
    searches never see half a document and a failed document's pieces never surface.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    ordinal = models.PositiveIntegerField()
    key = models.CharField(max_length=64)
    text = models.TextField()
    locator = models.JSONField(default=dict, blank=True)
    heading_path = models.JSONField(default=list, blank=True)
    source_tag = models.CharField(max_length=500)
    embedding = VectorField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "ordinal"], name="stagedchunk_unique_document_ordinal"),
        ]

    def __str__(self) -> str:
        return f"{self.source_tag} {self.text[:60]}"
