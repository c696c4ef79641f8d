from __future__ import annotations

from rest_framework import serializers

from accounts.api import TeamField
from core.api_fields import StrictJSONMixin
from core.file_guards import strip_nul
from corpora.models import Corpus, Document
from corpora.selectors import MAX_K, SEARCH_MODES


class CorpusSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    document_total = serializers.IntegerField(read_only=True)
    document_ready = serializers.IntegerField(read_only=True)
    document_failed = serializers.IntegerField(read_only=True)

    class Meta:
        model = Corpus
        fields = [
            "id",
            "team",
            "name",
            "description",
            "embedding_model",
            "embedding_dimension",
            "version",
            "document_total",
            "document_ready",
            "document_failed",
            "created_at",
        ]
        read_only_fields = fields


class CorpusCreateSerializer(StrictJSONMixin, serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    embedding_model = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Default: the EMBEDDING_MODEL setting."
    )
    team = TeamField()


class DocumentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    url = serializers.CharField(read_only=True, help_text="The page's address; empty for uploaded files.")

    class Meta:
        model = Document
        fields = [
            "id",
            "corpus",
            "name",
            "title",
            "source_type",
            "url",
            "sha256",
            "size_bytes",
            "status",
            "error_message",
            "chunk_count",
            "page_count",
            "created_at",
            "processed_at",
        ]
        read_only_fields = fields


class DocumentUploadSerializer(serializers.Serializer):
    """A multipart body: files to upload, or (without files) the URL of a page to add."""

    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        allow_empty=False,
        min_length=1,
        help_text="One or more files. An empty one is reported by name in `errors`; the others are still added.",
    )
    url = serializers.URLField(max_length=2000, required=False, help_text="Without files: a web page to add.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rejected: list[dict[str, str]] = []  # {"file", "detail"} of the files left out

    def validate_files(self, files: list) -> list:
        """Keep the good files; an empty one is left out by name instead of failing the upload."""
        accepted = []
        for file in files:
            if file.size:
                accepted.append(file)
            else:
                name = strip_nul(file.name or "a file")
                self.rejected.append({"file": name, "detail": "The submitted file is empty."})
        if not accepted:
            raise serializers.ValidationError([f"{r['file']}: {r['detail']}" for r in self.rejected])
        return accepted

    def validate(self, attrs):
        if attrs.get("files") and attrs.get("url"):
            raise serializers.ValidationError("Give files or a url, not both.")
        return attrs


class DocumentUrlSerializer(StrictJSONMixin, serializers.Serializer):
    url = serializers.URLField(max_length=2000)


class DocumentAddedSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False when the same file or URL was already in the corpus.")
    document = DocumentSerializer()


class FileErrorSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The file's name as uploaded.")
    detail = serializers.CharField(help_text="Why it was not added.")


class DocumentAddResultSerializer(serializers.Serializer):
    results = DocumentAddedSerializer(many=True)
    errors = FileErrorSerializer(many=True, help_text="Files of the upload that were not added, by name.")


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=1000, help_text="The query (a question is fine).")
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=5, help_text="How many results.")
    mode = serializers.ChoiceField(choices=SEARCH_MODES, default="hybrid")
    document = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="Restrict to these document ids."
    )
    source_type = serializers.ListField(
        child=serializers.ChoiceField(choices=Document.SourceType.choices),
        required=False,
        help_text="Restrict to documents of these source types (repeat the parameter for several).",
    )


class SearchHitSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    score = serializers.FloatField()
    vector_rank = serializers.IntegerField(allow_null=True)
    keyword_rank = serializers.IntegerField(allow_null=True)
    ranks = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Rank of the hit in every ranked list that was fused (vector, keyword, table); "
        "a list the hit is not in is absent. Nothing else moves a fused rank.",
    )
    duplicates = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of near-identical chunks folded into this hit."
    )
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    source_tag = serializers.CharField()
    locator = serializers.DictField()
    text = serializers.CharField()


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    mode = serializers.CharField()
    k = serializers.IntegerField()
    results = SearchHitSerializer(many=True)
