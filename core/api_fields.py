"""JSON request bodies: values of the type the schema says, not whatever DRF can coerce.

DRF's fields are lenient for HTML forms: a ``CharField`` takes ``0``, a ``BooleanField``
takes ``"yes"`` and ``1``, an ``IntegerField`` takes ``"5"``. A JSON client that sends those
relies on behaviour the schema does not promise, so JSON bodies are checked strictly.
Query parameters (always strings) keep DRF's parsing: their serializers do not use this.
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import relations, serializers
from rest_framework.fields import empty


def _type_error(field: serializers.Field, value: object) -> str | None:
    """Why ``value`` is not of ``field``'s JSON type, or None. ``null`` is left to ``allow_null``."""
    if value is None or isinstance(field, serializers.Serializer):
        return None  # nested serializers check their own fields (through this mixin)
    if isinstance(field, serializers.ListSerializer):
        return None if isinstance(value, list) else "Expected a list."
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return "Expected a list."
        return next((f"Item {i}: {e}" for i, item in enumerate(value) if (e := _type_error(field.child, item))), None)
    if isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            return "Expected an object."
        return next((f"{k}: {e}" for k, item in value.items() if (e := _type_error(field.child, item))), None)
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Expected true or false."
    if isinstance(field, (serializers.IntegerField, relations.PrimaryKeyRelatedField)):
        return None if isinstance(value, int) and not isinstance(value, bool) else "Expected an integer."
    if isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "Expected a number."
    if isinstance(field, (serializers.CharField, serializers.ChoiceField)):
        return None if isinstance(value, str) else "Expected a string."
    return None


class StrictJSONMixin:
    """Mix into request serializers of JSON bodies: a value of the wrong JSON type is a 400."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for field in self._writable_fields:  # type: ignore[attr-defined]
                value = data.get(field.field_name, empty)
                if value is not empty and (message := _type_error(field, value)):
                    errors[field.field_name] = [message]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]
