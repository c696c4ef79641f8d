"""The session creation form: settings plus questions, pasted or from a file."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from corpora.selectors import corpora_for_team
from judging.selectors import rubrics_for_team
from llm.config import llm_available
from llm.types import Provider
from sessions.models import DEFAULT_PROMPT_TEMPLATE, EvaluationSession
from sessions.question_files import MAX_QUESTION_FILE_BYTES, QuestionFileError, parse_pasted, parse_question_file
from sessions.session_settings import (
    K_DEFAULT,
    K_MAX,
    K_MIN,
    REPEATS_DEFAULT,
    REPEATS_MAX,
    REPEATS_MIN,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    SessionSettings,
)

QUESTION_FILE_TYPES = ".xlsx,.xlsm,.csv,.tsv,.json,.txt"
PASTE_EXAMPLE = "What does LoRA freeze?\nHow many parameters does it train?\n\nWhich model tops the SQuAD table?"


def provider_choices() -> list[tuple[str, str]]:
    """The OpenAI-compatible provider is offered only when an endpoint is configured."""
    offered = [Provider.OPENAI, Provider.OFFLINE] if llm_available() else [Provider.OFFLINE]
    return [(p.value, EvaluationSession.Provider(p.value).label) for p in offered]


class SessionCreateForm(forms.Form):
    corpus = forms.ModelChoiceField(queryset=None, empty_label=None, help_text="Corpora with ready documents.")
    name = forms.CharField(max_length=200)
    rubric = forms.ModelChoiceField(queryset=None, empty_label=None)
    questions_text = forms.CharField(
        label="Questions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": PASTE_EXAMPLE}),
        help_text="One question per line; a blank line starts a new conversation (later lines are follow-ups).",
    )
    questions_file = forms.FileField(
        label="…or a question file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": QUESTION_FILE_TYPES}),
        help_text="Excel, CSV or JSON with columns conversation, question, reference_answer; or a .txt like the box.",
    )
    retrieval_mode = forms.ChoiceField(choices=EvaluationSession.RetrievalMode.choices)
    retrieval_k = forms.IntegerField(
        label="Passages per question (k)", min_value=K_MIN, max_value=K_MAX, initial=K_DEFAULT
    )
    web_search = forms.BooleanField(required=False, label="Add live web search results to the context")
    generator_provider = forms.ChoiceField(label="Generator provider", choices=())
    generator_model = forms.CharField(max_length=200, required=False, help_text="Blank: the configured default.")
    temperature = forms.FloatField(min_value=TEMPERATURE_MIN, max_value=TEMPERATURE_MAX, initial=0.0)
    prompt_template = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        initial=DEFAULT_PROMPT_TEMPLATE,
        help_text="Placeholders: {history}, {context} and {question} (the last two are required).",
    )
    judge_provider = forms.ChoiceField(choices=())
    judge_model = forms.CharField(max_length=200, required=False, help_text="Blank: the configured default.")
    judge_repeats = forms.IntegerField(
        label="Judge repeats (self-consistency k)",
        min_value=REPEATS_MIN,
        max_value=REPEATS_MAX,
        initial=REPEATS_DEFAULT,
        help_text="Judge every answer k times; the page shows the spread and flags unstable verdicts.",
    )
    robustness = forms.BooleanField(
        required=False, label="Run judge robustness probes (deliberately wrong answers, judged like genuine ones)"
    )
    budget_usd = forms.DecimalField(
        label="Budget cap (USD)",
        required=False,
        min_value=Decimal("0"),
        max_digits=10,
        decimal_places=4,
        help_text="Optional: the session stops cleanly when it has spent this much.",
    )

    def __init__(self, *args, team, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["corpus"].queryset = corpora_for_team(team=team, user=user).filter(document_ready__gt=0)
        self.fields["rubric"].queryset = rubrics_for_team(team=team).order_by("-is_default", "name", "-version")
        choices = provider_choices()
        self.fields["generator_provider"].choices = choices
        self.fields["judge_provider"].choices = choices
        self.fields["generator_provider"].initial = choices[0][0]
        self.fields["judge_provider"].initial = choices[0][0]

    def clean_questions_file(self):
        upload = self.cleaned_data.get("questions_file")
        if upload and upload.size > MAX_QUESTION_FILE_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_QUESTION_FILE_BYTES // (1024 * 1024)} MB.")
        return upload

    def clean(self):
        cleaned = super().clean()
        text = (cleaned.get("questions_text") or "").strip()
        upload = cleaned.get("questions_file")
        if "questions_file" in self.errors:
            return cleaned
        if text and upload:
            self.add_error("questions_file", "Paste questions or upload a file, not both.")
            return cleaned
        if not text and not upload:
            self.add_error("questions_text", "Paste at least one question or upload a question file.")
            return cleaned
        try:
            conversations = parse_question_file(name=upload.name, data=upload.read()) if upload else parse_pasted(text)
        except QuestionFileError as exc:
            self.add_error("questions_file" if upload else "questions_text", str(exc))
            return cleaned
        if not any(c.questions for c in conversations):
            self.add_error("questions_file" if upload else "questions_text", "No questions found.")
            return cleaned
        cleaned["conversations"] = conversations
        return cleaned

    def to_settings(self) -> SessionSettings:
        data = self.cleaned_data
        return SessionSettings(
            rubric_id=data["rubric"].pk,
            retrieval_mode=data["retrieval_mode"],
            retrieval_k=data["retrieval_k"],
            web_search=data["web_search"],
            generator_provider=data["generator_provider"],
            generator_model=data["generator_model"],
            temperature=data["temperature"],
            prompt_template=data["prompt_template"],
            judge_provider=data["judge_provider"],
            judge_model=data["judge_model"],
            judge_repeats=data["judge_repeats"],
            robustness=data["robustness"],
            budget_usd=data["budget_usd"],
        )


class SessionListFilterForm(forms.Form):
    """The session list's filters, from the query string; unknown values fall back to defaults."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(required=False, label="Status")
    corpus = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Corpus")
    judge = forms.ChoiceField(required=False, label="Judge")
    creator = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Created by")
    tag = forms.ChoiceField(required=False, label="Tag")
    archived = forms.BooleanField(required=False, label="Archived")
    sort = forms.ChoiceField(required=False, label="Sort")

    def __init__(self, *args, choices: dict, sorts: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "Any status"), *EvaluationSession.Status.choices]
        self.fields["corpus"].choices = [("", "Any corpus"), *choices["corpora"]]
        self.fields["judge"].choices = [("", "Any judge"), *choices["judges"]]
        self.fields["creator"].choices = [("", "Anyone"), *choices["creators"]]
        self.fields["tag"].choices = [("", "Any tag"), *choices["tags"]]
        self.fields["sort"].choices = sorts
