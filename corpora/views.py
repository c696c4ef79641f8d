"""Corpus pages: list/create, detail with uploads and live status, documents, search."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from corpora.forms import CorpusCreateForm, DocumentUploadForm, DocumentUrlForm, SearchForm
from corpora.models import Corpus, Document
from corpora.selectors import (
    ACTIVE_STATUSES,
    chunks_for_document,
    chunks_search,
    corpora_for_team,
    corpus_get_for_user,
    corpus_progress,
    document_get_for_user,
    documents_for_corpus,
)
from corpora.services import corpus_create, document_add_url, document_delete, document_requeue, document_upload

CHUNKS_PER_PAGE = 20


def _corpus_or_404(request: HttpRequest, corpus_id: int) -> Corpus:
    try:
        return corpus_get_for_user(user=request.user, corpus_id=corpus_id)
    except Corpus.DoesNotExist as exc:
        raise Http404("No such corpus") from exc


def _document_or_404(request: HttpRequest, corpus: Corpus, document_id: int) -> Document:
    try:
        document = document_get_for_user(user=request.user, document_id=document_id)
    except Document.DoesNotExist as exc:
        raise Http404("No such document") from exc
    if document.corpus_id != corpus.pk:
        raise Http404("No such document")
    return document


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
def corpus_list(request: HttpRequest) -> HttpResponse:
    form = CorpusCreateForm(request.POST or None)
    if request.method == "POST" and request.team is not None and form.is_valid():
        try:
            corpus = corpus_create(
                team=request.team,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                user=request.user,
            )
        except ValidationError as exc:
            form.add_error("name", _errors(exc))
        else:
            messages.success(request, f"Corpus {corpus.name} created. Upload documents to it below.")
            return redirect("corpora:detail", corpus_id=corpus.pk)
    corpora = corpora_for_team(team=request.team, user=request.user) if request.team else Corpus.objects.none()
    return render(request, "corpora/corpus_list.html", {"corpora": corpora, "form": form})


@login_required
def corpus_detail(request: HttpRequest, corpus_id: int) -> HttpResponse:
    corpus = _corpus_or_404(request, corpus_id)
    documents = list(documents_for_corpus(corpus=corpus))
    context = {
        "corpus": corpus,
        "documents": documents,
        "active": any(d.status in ACTIVE_STATUSES for d in documents),
        "upload_form": DocumentUploadForm(),
        "url_form": DocumentUrlForm(),
        "search_form": SearchForm(),
    }
    progress = corpus_progress(corpus=corpus)
    context["counts"], context["stalled"] = progress["counts"], progress["stalled"]
    return render(request, "corpora/corpus_detail.html", context)


@never_cache
@login_required
@require_GET
def corpus_status(request: HttpRequest, corpus_id: int) -> JsonResponse:
    corpus = _corpus_or_404(request, corpus_id)
    return JsonResponse(corpus_progress(corpus=corpus))


@login_required
@require_POST
def document_upload_view(request: HttpRequest, corpus_id: int) -> HttpResponse:
    corpus = _corpus_or_404(request, corpus_id)
    form = DocumentUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("files", ["Choose one or more files to upload."])))
        return redirect("corpora:detail", corpus_id=corpus.pk)
    selection = form.cleaned_data["files"]
    added, duplicates, failed = 0, [], [f"{name}: {why}" for name, why in selection.rejected]
    for upload in selection.accepted:
        document, created = document_upload(corpus=corpus, file=upload, user=request.user)
        if not created:
            duplicates.append(upload.name)
        elif document.status == Document.Status.FAILED:
            failed.append(document.error_message)
        else:
            added += 1
    if added:
        messages.success(request, f"{added} file(s) queued for indexing.")
    if duplicates:
        messages.info(request, f"Already in this corpus (not added again): {', '.join(duplicates)}.")
    for message in failed:
        messages.error(request, message)
    return redirect("corpora:detail", corpus_id=corpus.pk)


@login_required
@require_POST
def document_add_url_view(request: HttpRequest, corpus_id: int) -> HttpResponse:
    corpus = _corpus_or_404(request, corpus_id)
    form = DocumentUrlForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid http:// or https:// address.")
        return redirect("corpora:detail", corpus_id=corpus.pk)
    try:
        document, created = document_add_url(corpus=corpus, url=form.cleaned_data["url"], user=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        if created:
            messages.success(request, f"{document.url} queued for fetching and indexing.")
        else:
            messages.info(request, f"{document.url} is already in this corpus.")
    return redirect("corpora:detail", corpus_id=corpus.pk)


@login_required
def document_detail(request: HttpRequest, corpus_id: int, document_id: int) -> HttpResponse:
    corpus = _corpus_or_404(request, corpus_id)
    document = _document_or_404(request, corpus, document_id)
    page = Paginator(chunks_for_document(document=document), CHUNKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "corpora/document_detail.html", {"corpus": corpus, "document": document, "page": page})


@login_required
@require_POST
def document_delete_view(request: HttpRequest, corpus_id: int, document_id: int) -> HttpResponse:
    corpus = _corpus_or_404(request, corpus_id)
    document = _document_or_404(request, corpus, document_id)
    name = document.display_name
    document_delete(document=document)
    messages.success(request, f"{name} removed from {corpus.name}.")
    return redirect("corpora:detail", corpus_id=corpus.pk)


@login_required
@require_POST
def document_retry_view(request: HttpRequest, corpus_id: int, document_id: int) -> HttpResponse:
    corpus = _corpus_or_404(request, corpus_id)
    document = document_requeue(document=_document_or_404(request, corpus, document_id))
    if document.status == Document.Status.QUEUED:
        messages.success(request, f"{document.display_name} queued again.")
    return redirect("corpora:detail", corpus_id=corpus.pk)


@login_required
@require_GET
def corpus_search(request: HttpRequest, corpus_id: int) -> HttpResponse:
    corpus = _corpus_or_404(request, corpus_id)
    form = SearchForm(request.GET or None)
    hits, documents = [], {}
    if form.is_bound and form.is_valid() and form.cleaned_data["q"]:
        document_id = form.cleaned_data.get("document")
        hits = chunks_search(
            corpus=corpus,
            query=form.cleaned_data["q"],
            k=form.cleaned_data["k"] or 5,
            mode=form.cleaned_data["mode"] or "hybrid",
            document_ids=[document_id] if document_id else None,
        )
        ids = {hit.document_id for hit in hits}
        documents = {d.pk: d for d in documents_for_corpus(corpus=corpus).filter(pk__in=ids)}
    rows = [(hit, documents.get(hit.document_id)) for hit in hits]
    return render(
        request,
        "corpora/search.html",
        {"corpus": corpus, "form": form, "rows": rows, "searched": bool(form.is_bound and form.is_valid())},
    )
