"""Query parameters of the API: each given at most once, unless the schema documents a list.

Django keeps every value of a repeated parameter and ``query_params[...]`` silently takes the
last one; ``?k=5&k=50`` would then mean whatever the last proxy or client appended. The API
answers such a request with a 400 instead, naming the parameter.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


def _is_list(field: serializers.Field) -> bool:
    return isinstance(field, (serializers.ListField, serializers.ListSerializer, serializers.MultipleChoiceField))


def query_values(request: Request, serializer_class: type[serializers.Serializer]) -> dict:
    """The request's query parameters that ``serializer_class`` declares, as serializer input.

    A plain dict (not the QueryDict), so that an absent boolean stays absent instead of
    reading as ``false``; list fields get every value of their parameter.
    """
    params = request.query_params
    data: dict = {}
    for name, field in serializer_class().fields.items():
        if name in params:
            data[name] = params.getlist(name) if _is_list(field) else params[name]
    return data


class SingleValuedQueryMixin:
    """Reject a repeated query parameter (400) unless it is one of ``multi_valued_query_params``."""

    multi_valued_query_params: tuple[str, ...] = ()

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        repeated = sorted(
            name
            for name, values in request.query_params.lists()
            if len(values) > 1 and name not in self.multi_valued_query_params
        )
        if repeated:
            raise ValidationError({name: ["Given more than once; give it once."] for name in repeated})
