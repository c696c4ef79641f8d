"""Review forms: the queue's filters and the judgment page's ratings (one save, one reason)."""

from __future__ import annotations

from django import forms

from judging.rubric import RubricSpec


class QueueFilterForm(forms.Form):
    """The review queue's filters, from the query string; unknown values fall back to defaults."""

    q = forms.CharField(required=False, max_length=200, label="Search questions and answers")
    session = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Session")
    kind = forms.ChoiceField(required=False, label="Kind")
    criterion = forms.ChoiceField(required=False, label="Criterion")
    rating = forms.ChoiceField(required=False, label="Rated")
    state = forms.ChoiceField(required=False, label="State")
    since = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Sessions from",
        choices=[("", "Any time"), ("1", "Last 24 hours"), ("7", "Last 7 days"), ("30", "Last 30 days")],
    )
    sort = forms.ChoiceField(required=False, label="Sort")

    def __init__(self, *args, sessions, criteria, ratings, kinds, states, sorts, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["session"].choices = [("", "All sessions"), *((str(s.pk), s.name) for s in sessions)]
        self.fields["criterion"].choices = [("", "Any criterion"), *criteria]
        self.fields["rating"].choices = [("", "Any rating"), *((r, r) for r in ratings)]
        self.fields["kind"].choices = kinds
        self.fields["state"].choices = states
        self.fields["sort"].choices = sorts


class RatingsForm(forms.Form):
    """The judgment page's one save: a rating per criterion (blank: leave it) and one reason."""

    reason = forms.CharField(
        max_length=2000,
        error_messages={"required": "Say why you override the verdict."},
        widget=forms.TextInput(attrs={"placeholder": "Why? (required when a rating changes)", "autocomplete": "off"}),
    )

    def __init__(self, *args, spec: RubricSpec, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        choices = [("", "—"), *((level.label, f"{level.label} ({level.points})") for level in spec.levels_best_first())]
        for criterion in spec.criteria:
            self.fields[f"rating_{criterion.key}"] = forms.ChoiceField(
                required=False, choices=choices, label=criterion.name
            )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why you override the verdict.")
        return reason

    def ratings(self) -> dict[str, str]:
        return {
            c.key: self.cleaned_data[f"rating_{c.key}"]
            for c in self.spec.criteria
            if self.cleaned_data.get(f"rating_{c.key}")
        }

    def select(self, key: str):
        return self[f"rating_{key}"]
