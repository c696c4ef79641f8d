from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.core.files.uploadedfile import UploadedFile

from core.file_guards import strip_nul
from corpora.selectors import MAX_K, SEARCH_MODES


class CorpusCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


@dataclass
class FileSelection:
    """The files of one upload that passed the field's checks, and the others by name."""

    accepted: list[UploadedFile] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file name, why)


class MultipleFileField(forms.FileField):
    """A file field that accepts several files (Django's documented recipe), checked one by
    one: a bad file (empty, say) is reported by name and does not discard the good ones."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> FileSelection:
        items = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if not items:
            raise forms.ValidationError("Choose one or more files to upload.", code="required")
        selection = FileSelection()
        for item in items:
            try:
                selection.accepted.append(super().clean(item, initial))
            except forms.ValidationError as exc:
                name = strip_nul(getattr(item, "name", "") or "a file")
                selection.rejected.append((name, " ".join(exc.messages)))
        return selection


class DocumentUploadForm(forms.Form):
    files = MultipleFileField(label="Files")


class DocumentUrlForm(forms.Form):
    url = forms.URLField(label="Web page URL", max_length=2000, assume_scheme="https")


class SearchForm(forms.Form):
    q = forms.CharField(label="Query", max_length=1000, required=False)
    mode = forms.ChoiceField(choices=[(mode, mode) for mode in SEARCH_MODES], initial="hybrid", required=False)
    k = forms.IntegerField(min_value=1, max_value=MAX_K, initial=5, required=False)
    document = forms.IntegerField(required=False, widget=forms.HiddenInput)
