from __future__ import annotations

from django import forms

from corpora.selectors import MAX_K, SEARCH_MODES


class CorpusCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts several files (Django's documented recipe)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if not data and self.required:  # an empty list would otherwise pass as "no files, no error"
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class DocumentUploadForm(forms.Form):
    files = MultipleFileField(label="Files")


class DocumentUrlForm(forms.Form):
    url = forms.URLField(label="Web page URL", max_length=2000, assume_scheme="https")


class SearchForm(forms.Form):
    q = forms.CharField(label="Query", max_length=1000, required=False)
    mode = forms.ChoiceField(choices=[(mode, mode) for mode in SEARCH_MODES], initial="hybrid", required=False)
    k = forms.IntegerField(min_value=1, max_value=MAX_K, initial=5, required=False)
    document = forms.IntegerField(required=False, widget=forms.HiddenInput)
