"""The reviewer's override form: one criterion, a new rating from the rubric's scale, a reason."""

from __future__ import annotations

from django import forms

from judging.rubric import RubricSpec


class OverrideForm(forms.Form):
    criterion_key = forms.CharField(widget=forms.HiddenInput)
    new_rating = forms.ChoiceField(label="New rating", choices=())
    reason = forms.CharField(
        max_length=2000,
        error_messages={"required": "Say why you override the verdict."},
        widget=forms.TextInput(attrs={"placeholder": "Why? (required)", "autocomplete": "off"}),
    )

    def __init__(self, *args, spec: RubricSpec, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.fields["new_rating"].choices = [
            (level.label, f"{level.label} ({level.points})") for level in spec.levels_best_first()
        ]

    def clean_criterion_key(self) -> str:
        key = self.cleaned_data["criterion_key"]
        if key not in {c.key for c in self.spec.criteria}:
            raise forms.ValidationError("Unknown criterion.")
        return key

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why you override the verdict.")
        return reason
