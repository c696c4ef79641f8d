"""The demo's evaluation with robustness probes, run through the real pipeline (offline
provider, tasks in this process), for the probe benchmark and the test that pins its rates."""

from __future__ import annotations

from pathlib import Path

from accounts.models import Team
from accounts.services import team_create
from core.runmode import in_process_tasks
from corpora.models import Corpus, Document
from corpora.services import corpus_create, document_ingest, document_upload
from judging.models import Judgment, RobustnessProbe
from judging.probes import STRATEGY_LABELS
from judging.robustness import RobustnessSummary
from judging.selectors import judgment_judge_ratings, rubric_spec
from scripts.make_sample_corpus import HTML_NAME, PDF_NAME, XLSX_NAME, write_sample_corpus
from sessions.models import EvaluationSession
from sessions.question_files import parse_question_file
from sessions.scores import session_robustness
from sessions.services import session_create, session_start
from sessions.session_settings import SessionSettings

TEAM_SLUG = "probe-demo"
CORPUS_NAME = "SAT sample"


def demo_corpus(*, team, out: Path) -> Corpus:
    """The demo's corpus, ingested once per database."""
    write_sample_corpus(out=out)
    corpus = Corpus.objects.filter(team=team, name=CORPUS_NAME).first()
    if corpus is not None and corpus.documents.filter(status=Document.Status.READY).count() == 3:
        return corpus
    corpus = corpus or corpus_create(team=team, name=CORPUS_NAME)
    for name in (PDF_NAME, XLSX_NAME, HTML_NAME):
        document, _ = document_upload(corpus=corpus, file=out / name)
        document_ingest(document_id=document.pk)
    return corpus


def demo_robustness(*, out: Path, team: Team | None = None) -> tuple[EvaluationSession, RobustnessSummary]:
    """Run the demo's question set with probes, as `make demo` does, and summarise them."""
    team = team or team_create(name="Probe demo", slug=TEAM_SLUG)
    corpus = demo_corpus(team=team, out=out)
    conversations = parse_question_file(name="questions.json", data=(out / "questions.json").read_bytes())
    session = session_create(
        team=team,
        corpus=corpus,
        name="Demo questions with probes",
        conversations=conversations,
        settings=SessionSettings(generator_provider="offline", judge_provider="offline", robustness=True),
    )
    with in_process_tasks():
        session_start(session=session)
    session.refresh_from_db()
    summary = session_robustness(session=session)
    assert summary is not None
    return session, summary


def probe_misses(*, session: EvaluationSession) -> list[str]:
    """Each probe whose expected criteria did not all drop, with both verdicts, as text."""
    spec = rubric_spec(rubric=session.rubric)
    lines = []
    probes = RobustnessProbe.objects.filter(answer__question__session=session).select_related("answer__question")
    for probe in probes.order_by("answer__question__position", "strategy"):
        genuine = Judgment.objects.filter(answer=probe.answer, repeat_index=0).first()
        fake = probe.judgments.filter(repeat_index=0).first()
        if genuine is None or fake is None:
            continue
        g_ratings, g_score = judgment_judge_ratings(judgment=genuine, spec=spec)
        f_ratings, f_score = judgment_judge_ratings(judgment=fake, spec=spec)
        if g_ratings is None or f_ratings is None:
            continue
        points = {level.label: level.points for level in spec.scale}
        missed = [c for c in probe.expected_criteria if points[f_ratings[c]] >= points[g_ratings[c]]]
        if not missed:
            continue
        rationales = {v.criterion.key: v.rationale for v in fake.verdicts.select_related("criterion")}
        lines.append(
            f"[{STRATEGY_LABELS[probe.strategy]}] Q: {probe.answer.question.text}\n"
            f"GENUINE ({g_score}): {probe.answer.text}\n"
            f"FAKE ({f_score}): {probe.fake_answer}\n"
            + "\n".join(f"  {c}: {g_ratings[c]} -> {f_ratings[c]}: {rationales.get(c, '')}" for c in missed)
        )
    return lines
