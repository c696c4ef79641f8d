"""The API's OpenAPI schema: constraints from the serializers' own rules, and one ``Error`` component.

Every operation may answer 401 (no or a bad token) and 403 (a role that may not do it);
operations on an object may answer 404 (absent, or another team's); operations with a body
or query parameters may answer 400; operations with a body may answer 413 (too large) and
415 (a media type they do not take). Views declare the rest themselves (409 and friends)
with ``error_response()``. The shape is built in ``core.api_errors``.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_REF = {"$ref": "#/components/schemas/Error"}

# A trimmed text that is not blank and holds no NUL (DRF refuses both), as an ECMA pattern.
NON_BLANK_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
NO_NUL_PATTERN = r"^[^\u0000]*$"


class AutoSchema(SpectacularAutoSchema):
    """Say in the schema what DRF fields enforce without validators: no blank text, no NUL, no empty list."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or not isinstance(schema, dict) or field.read_only:
            return schema
        if schema.get("type") == "string" and isinstance(field, serializers.CharField) and "format" not in schema:
            if not field.allow_blank:
                schema.setdefault("minLength", 1)
            if "pattern" not in schema:
                blank_refused = not field.allow_blank and field.trim_whitespace
                schema["pattern"] = NON_BLANK_PATTERN if blank_refused else NO_NUL_PATTERN
        if schema.get("type") == "array" and isinstance(field, (serializers.ListField, serializers.ListSerializer)):
            if not field.allow_empty:
                schema.setdefault("minItems", 1)
            if getattr(field, "max_length", None) is not None:
                schema.setdefault("maxItems", field.max_length)
            if getattr(field, "min_length", None) is not None:
                schema["minItems"] = max(schema.get("minItems", 0), field.min_length)
        return schema


class ErrorSerializer(serializers.Serializer):
    """Every error answered by the API."""

    detail = serializers.CharField(help_text="One human-readable sentence.")
    code = serializers.CharField(
        help_text="Stable machine-readable code: invalid, parse_error, not_authenticated, authentication_failed, "
        "permission_denied, not_found, method_not_allowed, not_acceptable, unsupported_media_type, too_large, "
        "conflict, invalidinput, notallowed, throttled."
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Validation errors only: messages per field, as a dotted path into the request ("items.0.answer").',
    )

    class Meta:
        ref_name = "Error"


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


GENERIC_ERRORS = {
    "400": "Invalid input: `errors` says which field and why.",
    "401": "No credentials, or invalid ones.",
    "403": "Your role in the team does not allow this.",
    "404": "No such object among your teams' (another team's objects do not exist for you).",
    "413": "The request body is too large.",
    "415": "The body's media type is not one this operation takes.",
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: document the generic errors of every operation."""
    # The "Error" component is ErrorSerializer's: views reference it for their own errors (409s, …).
    assert "Error" in result["components"]["schemas"], "no view references ErrorSerializer"
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            wanted = ["401", "403"]
            query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            has_body = "requestBody" in operation
            if "{" in path or "page" in query:  # a page past the last one is a 404 too
                wanted.append("404")
            if query or has_body:
                wanted.append("400")
            if has_body:
                wanted += ["413", "415"]
                operation["requestBody"]["required"] = True  # no operation takes an empty body
            responses = operation.setdefault("responses", {})
            for status_code in wanted:
                responses.setdefault(
                    status_code,
                    {
                        "description": GENERIC_ERRORS[status_code],
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
    return result
