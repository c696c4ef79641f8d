from django.contrib import admin

from accounts.admin_scoping import TeamScopedAdmin
from corpora.models import Chunk, Corpus, Document


@admin.register(Corpus)
class CorpusAdmin(TeamScopedAdmin):
    list_display = ["name", "team", "embedding_model", "embedding_dimension", "version", "created_at"]
    list_filter = [("team", admin.RelatedOnlyFieldListFilter), "embedding_model"]
    search_fields = ["name"]
    list_select_related = ["team"]
    readonly_fields = ["version", "created_at"]


@admin.register(Document)
class DocumentAdmin(TeamScopedAdmin):
    team_paths = ("corpus__team",)
    list_display = ["__str__", "corpus", "source_type", "status", "chunk_count", "created_at"]
    list_filter = ["status", "source_type"]
    search_fields = ["title", "original_name", "url", "sha256"]
    list_select_related = ["corpus"]
    readonly_fields = ["sha256", "size_bytes", "chunk_count", "page_count", "created_at", "updated_at", "processed_at"]


@admin.register(Chunk)
class ChunkAdmin(TeamScopedAdmin):
    team_paths = ("corpus__team",)
    list_display = ["source_tag", "document", "ordinal"]
    search_fields = ["text", "source_tag"]
    list_select_related = ["document"]
    exclude = ["embedding"]
    readonly_fields = ["key", "corpus", "document", "ordinal", "locator", "heading_path", "source_tag"]
