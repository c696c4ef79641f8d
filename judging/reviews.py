"""A reviewer's save of several criteria at once (the judgment page's one-save review).

Each changed criterion becomes its own Override row through ``override_create`` (so the
permission, status, scale and audit rules live in one place); all of them commit together
or not at all. Criteria whose rating is unchanged are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from core.errors import InvalidInput
from judging.models import Judgment, Override
from judging.selectors import judgment_effective, rubric_spec
from judging.services import override_create


def judgment_ratings_save(*, judgment: Judgment, reviewer, ratings: Mapping[str, str], reason: str) -> list[Override]:
    """Override every criterion in `ratings` (key → scale label) that differs from its
    effective rating, with one reason. Raises InvalidInput when nothing would change."""
    spec = rubric_spec(rubric=judgment.rubric)
    unknown = sorted(set(ratings) - {c.key for c in spec.criteria})
    if unknown:
        raise InvalidInput(f"Unknown criterion {unknown[0]!r}.")
    fresh = Judgment.objects.get(pk=judgment.pk)
    current = {r.key: r.rating for r in judgment_effective(judgment=fresh, spec=spec)[0]}
    changed = {key: label for key, label in ratings.items() if current.get(key) != label}
    if not changed:
        if len(ratings) == 1:
            (label,) = ratings.values()
            raise InvalidInput(f"The rating is already {label}.")
        raise InvalidInput("Nothing to save: every rating is as it was.")
    with transaction.atomic():
        return [
            override_create(judgment=fresh, criterion_key=key, reviewer=reviewer, new_rating=label, reason=reason)
            for key, label in changed.items()
        ]
