"""Helpers for pipeline tests: a small ingested corpus and sessions built on it."""

from __future__ import annotations

import time
from pathlib import Path

from corpora.services import corpus_create, document_ingest, document_upload
from sessions.models import EvaluationSession
from sessions.question_files import ConversationInput, QuestionInput
from sessions.session_settings import SessionSettings

CORPUS_TEXT = """# Sparse Adapter Tuning

Sparse Adapter Tuning (SAT) updates 0.8% of the weights of a pretrained model.

SAT reaches 88.6 Dev EM on SQuAD, close to full fine-tuning at 88.9.

## Costs

Because the sparse update is merged into the weights after training, SAT adds no inference latency.

Full fine-tuning of RoBERTa-large needs 355 million trainable parameters; SAT trains 2.8 million.

## Training

SAT uses a learning rate of 3e-4 with linear decay and trains for 10 epochs.
"""


def make_corpus(*, team, tmp_path: Path, name: str = "sat"):
    corpus = corpus_create(team=team, name=name)
    path = tmp_path / "sat_notes.md"
    path.write_text(CORPUS_TEXT)
    document, _ = document_upload(corpus=corpus, file=path)
    document_ingest(document_id=document.pk)
    return corpus


def conversations(spec: list[list[str]]) -> list[ConversationInput]:
    return [
        ConversationInput(label=f"c{i}", questions=[QuestionInput(text=q) for q in questions])
        for i, questions in enumerate(spec)
    ]


def make_session(team, corpus, spec: list[list[str]], **settings) -> EvaluationSession:
    """A draft session over ``corpus`` with one conversation per list of questions; offline
    generator and judge unless ``settings`` say otherwise."""
    from sessions.services import session_create

    name = settings.pop("name", "test")
    settings = {"generator_provider": "offline", "judge_provider": "offline", **settings}
    return session_create(
        team=team, corpus=corpus, name=name, conversations=conversations(spec), settings=SessionSettings(**settings)
    )


def wait_for_session(session: EvaluationSession, *, timeout: float = 120.0) -> EvaluationSession:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.refresh_from_db()
        if not session.is_active and session.status != EvaluationSession.Status.DRAFT:
            return session
        time.sleep(0.2)
    raise AssertionError(f"session still {session.status} after {timeout}s")
