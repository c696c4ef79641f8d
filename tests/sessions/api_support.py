"""Helpers for the API, batch and report tests: a tiny corpus, a judged session without a judge."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from corpora.services import corpus_create, document_ingest, document_upload
from judging.engine import JudgeOutcome
from judging.models import Judgment
from judging.selectors import rubric_spec
from judging.services import judgment_store
from sessions.models import Answer, EvaluationSession
from sessions.services import session_create_judge_only, session_finalize_if_done
from sessions.session_settings import SessionSettings

CORPUS_TEXT = """# Sparse Adapter Tuning

Sparse Adapter Tuning (SAT) updates 0.8% of the weights of a pretrained model.

SAT reaches 88.6 Dev EM on SQuAD, close to full fine-tuning at 88.9.

Because the sparse update is merged into the weights after training, SAT adds no inference latency.
"""

RATIONALE = "The answer addresses the question and every claim appears in the context."


def make_corpus(*, team, tmp_path: Path, name: str = "sat"):
    corpus = corpus_create(team=team, name=name)
    path = tmp_path / f"{name}_notes.md"
    path.write_text(CORPUS_TEXT, encoding="utf-8")
    document, _ = document_upload(corpus=corpus, file=path, enqueue=False)
    document_ingest(document_id=document.pk)
    return corpus


def judged_session(
    *, team, user=None, items: list[dict] | None = None, name: str = "judged", ratings: dict | None = None
) -> EvaluationSession:
    """A completed judge-only session whose verdicts are stored directly (no judge runs)."""
    items = items or [
        {
            "question": "How many weights does SAT update?",
            "answer": "SAT updates 0.8% of the weights.",
            "context": ["[Doc: sat.md] SAT updates 0.8% of the weights of a pretrained model."],
        }
    ]
    session = session_create_judge_only(team=team, user=user, name=name, items=items, settings=SessionSettings())
    spec = rubric_spec(rubric=session.rubric)
    labels = ratings or {c.key: "Good" for c in spec.criteria}
    for answer in Answer.objects.filter(question__session=session):
        judgment = Judgment.objects.create(
            answer=answer, rubric=session.rubric, judge_provider="offline", judge_model="heuristic-minilm"
        )
        judgment_store(
            judgment=judgment,
            spec=spec,
            outcome=JudgeOutcome(
                status=Judgment.Status.OK,
                ratings={key: (label, f"{RATIONALE} ({key})") for key, label in labels.items()},
                raw_output="{}",
                latency_ms=1200,
                attempts=1,
                score=Decimal("80.0"),
            ),
            provenance={"rubric": {"name": spec.name, "version": spec.version}},
            started_at=answer.created_at,
        )
    # Finished the way a running session finishes: status, locked rubric, stored summary.
    EvaluationSession.objects.filter(pk=session.pk).update(status=EvaluationSession.Status.RUNNING)
    session_finalize_if_done(session_id=session.pk)
    session.refresh_from_db()
    assert session.status == EvaluationSession.Status.COMPLETED
    return session
