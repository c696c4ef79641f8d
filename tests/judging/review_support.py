"""Hand-made judged sessions for review tests: chosen ratings, probes and repeats, no model."""

from __future__ import annotations

from judging.models import CriterionVerdict, Judgment, RobustnessProbe
from judging.scoring import weighted_score
from judging.selectors import rubric_default, rubric_spec
from sessions.services import session_create_judge_only
from sessions.session_settings import SessionSettings

KEYS = ("relevance", "faithfulness", "completeness", "clarity", "conciseness")
POINTS = {"Excellent": 100, "Good": 80, "Fair": 60, "Bad": 40, "Worse": 20}


def ratings_of(*labels: str) -> dict[str, str]:
    """Five labels in rubric order; one label stands for all five."""
    if len(labels) == 1:
        labels = labels * len(KEYS)
    return dict(zip(KEYS, labels, strict=True))


def judge(*, answer=None, probe=None, ratings=None, status=Judgment.Status.OK, flagged=False, repeat=0) -> Judgment:
    rubric = rubric_default()
    ratings = ratings or ratings_of("Excellent")
    ok = status == Judgment.Status.OK
    judgment = Judgment.objects.create(
        answer=answer,
        probe=probe,
        rubric=rubric,
        repeat_index=repeat,
        status=status,
        judge_provider="offline",
        judge_model="heuristic-minilm",
        raw_output='{"ok": true}' if ok else "not json at all",
        flagged_for_review=flagged,
        weighted_score=weighted_score(ratings=ratings, rubric=rubric_spec(rubric=rubric)) if ok else None,
    )
    if ok:
        criteria = {c.key: c for c in rubric.criteria.all()}
        CriterionVerdict.objects.bulk_create(
            CriterionVerdict(
                judgment=judgment, criterion=criteria[k], rating=v, points=POINTS[v], rationale=f"{k}: {v}"
            )
            for k, v in ratings.items()
        )
    return judgment


def judged(team, *, name="Review me", items, user=None):
    """A judge-only session; `items` are (question, answer, ratings-or-None) and each gets one
    judgment (None: unparseable). Returns the session and its judgments in order."""
    session = session_create_judge_only(
        team=team,
        user=user,
        name=name,
        items=[
            {"conversation": "c1", "question": q, "answer": a, "context": ["[Doc: notes.md] SAT trains 2.8M"]}
            for q, a, _ in items
        ],
        settings=SessionSettings(),
    )
    answers = [a for q in session.questions.order_by("position") for a in q.answers.all()]
    judgments = []
    for answer, (_, _, ratings) in zip(answers, items, strict=True):
        if ratings is None:
            judgments.append(judge(answer=answer, status=Judgment.Status.UNPARSEABLE))
        else:
            judgments.append(judge(answer=answer, ratings=ratings))
    return session, judgments


def probe_of(judgment: Judgment, *, strategy: str = "off_topic", ratings=None) -> Judgment:
    probe = RobustnessProbe.objects.create(
        answer=judgment.answer, strategy=strategy, fake_answer=f"A fake ({strategy}) answer.", expected_criteria=[]
    )
    return judge(probe=probe, ratings=ratings or ratings_of("Worse"))


def finish(session, *, corpus=None, when=None):
    """Mark a hand-judged session completed (at `when`), with its stored mean score."""
    from django.utils import timezone

    from sessions.models import EvaluationSession
    from sessions.services import session_score_summary_store

    fields = {"status": EvaluationSession.Status.COMPLETED, "finished_at": when or timezone.now()}
    if corpus is not None:
        fields["corpus"] = corpus
    EvaluationSession.objects.filter(pk=session.pk).update(**fields)
    session.refresh_from_db()
    session_score_summary_store(session=session)
    session.refresh_from_db()
    return session
