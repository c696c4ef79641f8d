"""Reads for sessions: team-scoped querysets, progress, and the report every view shares."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Team
from accounts.selectors import scope_to_user
from corpora.models import Corpus, Document
from judging.models import Judgment, Override, RobustnessProbe
from judging.robustness import RobustnessSummary
from judging.scoring import MeanSummary, mean_with_count
from judging.selectors import EffectiveRating, judgment_effective, judgments_prefetched, rubric_spec
from sessions.models import Answer, Conversation, EvaluationSession, Question, RetrievedPassage
from sessions.scores import SessionScores, session_agreement, session_robustness, session_scores, stored_mean


def sessions_for_user(*, user) -> QuerySet[EvaluationSession]:
    return scope_to_user(EvaluationSession.objects.select_related("corpus", "team", "rubric"), user=user)


def dashboard_summary(*, team: Team) -> dict:
    return {
        "corpora": Corpus.objects.filter(team=team).count(),
        "documents": Document.objects.filter(corpus__team=team).count(),
        "sessions": EvaluationSession.objects.filter(team=team).count(),
        "recent_sessions": list(
            EvaluationSession.objects.filter(team=team).select_related("corpus").order_by("-created_at")[:8]
        ),
    }


@dataclass
class Progress:
    questions: int
    answered: int
    failed: int
    judgments: int
    judged: int
    percent: int
    status: str
    status_display: str
    is_active: bool

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def session_has_pending_work(*, session_id: int) -> bool:
    """Whether a question is unanswered or an answer or judgment is still pending.

    Asked after every judgment, so it is one plain statement (PostgreSQL prepares it
    after a few runs on a worker's persistent connection) rather than an ORM query that
    costs more to compile than to run.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _pending_work_sql(),
            {"session": session_id, "answer_pending": Answer.Status.PENDING, "pending": Judgment.Status.PENDING},
        )
        return bool(cursor.fetchone()[0])


@functools.cache
def _pending_work_sql() -> str:
    return _PENDING_WORK_SQL.format(
        question=Question._meta.db_table,
        answer=Answer._meta.db_table,
        judgment=Judgment._meta.db_table,
        probe=RobustnessProbe._meta.db_table,
    )


_PENDING_WORK_SQL = """
    SELECT
        EXISTS (
            SELECT 1 FROM {question} q
            WHERE q.session_id = %(session)s AND NOT EXISTS (SELECT 1 FROM {answer} a WHERE a.question_id = q.id)
        )
        OR EXISTS (
            SELECT 1 FROM {answer} a JOIN {question} q ON q.id = a.question_id
            WHERE q.session_id = %(session)s AND a.status = %(answer_pending)s
        )
        OR EXISTS (
            SELECT 1 FROM {judgment} j
            JOIN {answer} a ON a.id = j.answer_id JOIN {question} q ON q.id = a.question_id
            WHERE q.session_id = %(session)s AND j.status = %(pending)s
        )
        OR EXISTS (
            SELECT 1 FROM {judgment} j JOIN {probe} p ON p.id = j.probe_id
            JOIN {answer} a ON a.id = p.answer_id JOIN {question} q ON q.id = a.question_id
            WHERE q.session_id = %(session)s AND j.status = %(pending)s
        )
"""


def session_progress(*, session: EvaluationSession) -> Progress:
    questions = Question.objects.filter(session=session).count()
    answers = Answer.objects.filter(question__session=session).values("question_id", "status", "attempt")
    latest: dict[int, tuple[int, str]] = {}
    for row in answers:
        if row["question_id"] not in latest or row["attempt"] > latest[row["question_id"]][0]:
            latest[row["question_id"]] = (row["attempt"], row["status"])
    answered = sum(1 for _, status in latest.values() if status == Answer.Status.OK)
    failed = sum(1 for _, status in latest.values() if status == Answer.Status.FAILED)
    counts = Judgment.objects.filter(
        Q(answer__question__session=session) | Q(probe__answer__question__session=session)
    ).aggregate(total=Count("id"), done=Count("id", filter=~Q(status=Judgment.Status.PENDING)))
    # Answers and judgments weigh equally; unknown judgment counts (not yet created) are
    # estimated from the answers still to come.
    per_answer = max(1, (counts["total"] or 0) // max(1, answered + failed)) if (answered + failed) else 1
    expected_judgments = max(counts["total"] or 0, per_answer * (questions - failed))
    done_units = answered + failed + (counts["done"] or 0)
    total_units = questions + expected_judgments
    percent = (
        100 if session.status in ("completed", "completed_with_errors") else int(100 * done_units / max(1, total_units))
    )
    return Progress(
        questions=questions,
        answered=answered,
        failed=failed,
        judgments=counts["total"] or 0,
        judged=counts["done"] or 0,
        percent=min(100, percent),
        status=session.status,
        status_display=session.get_status_display(),
        is_active=session.is_active,
    )


def session_list_rows(
    *, sessions: Iterable[EvaluationSession]
) -> list[tuple[EvaluationSession, int, MeanSummary | None]]:
    """(session, percent done, mean score) for a page of the session list.

    Finished sessions show the summary stored when they finished (a few queries however
    many there are); running ones, few at a time, are computed live, and so is a finished
    session that has no stored summary (it finished before summaries were stored).
    """
    rows = []
    for session in sessions:
        if session.status == EvaluationSession.Status.DRAFT:
            rows.append((session, 0, None))
        elif session.is_active:
            rows.append((session, session_progress(session=session).percent, session_scores(session=session).overall))
        else:
            finished = session.is_finished
            percent = 100 if finished else session_progress(session=session).percent
            mean = stored_mean(session=session)
            if mean is None and finished:
                mean = session_scores(session=session).overall
            rows.append((session, percent, mean))
    return rows


@dataclass
class TurnReport:
    conversation: Conversation
    question: Question
    answer: Answer | None
    passages: list[RetrievedPassage] = field(default_factory=list)
    judgments: list[Judgment] = field(default_factory=list)  # each with .effective and .score set
    ratings: list[EffectiveRating] = field(default_factory=list)  # effective ratings of the first judgment
    score: Decimal | None = None
    score_spread: tuple[Decimal, Decimal] | None = None
    unstable: bool = False
    evaluation_latency_ms: int | None = None


@dataclass
class SessionReport:
    session: EvaluationSession
    conversations: list[tuple[Conversation, list[TurnReport]]]
    totals: dict
    scores: SessionScores
    robustness: RobustnessSummary | None
    overrides: list
    agreement: object | None = None  # judging.agreement.AgreementSummary, beside robustness


# Self-consistency: repeats whose weighted scores differ by more than this are flagged.
UNSTABLE_SPREAD = Decimal("10.0")


def session_report(*, session: EvaluationSession) -> SessionReport:
    """Everything the session page, the API results, the reports and `evaluate` show."""
    spec = rubric_spec(rubric=session.rubric)
    answers_qs = Answer.objects.order_by("-attempt").prefetch_related(
        Prefetch("passages", queryset=RetrievedPassage.objects.order_by("rank")),
        Prefetch(
            "judgments",
            queryset=judgments_prefetched(Judgment.objects.filter(rubric=session.rubric).order_by("repeat_index")),
        ),
    )
    conversations = list(
        Conversation.objects.filter(session=session)
        .order_by("position")
        .prefetch_related(
            Prefetch(
                "questions",
                queryset=Question.objects.order_by("position").prefetch_related(
                    Prefetch("answers", queryset=answers_qs)
                ),
            )
        )
    )
    result: list[tuple[Conversation, list[TurnReport]]] = []
    for conversation in conversations:
        turns = []
        for question in conversation.questions.all():
            answers = list(question.answers.all())
            answer = answers[0] if answers else None
            turn = TurnReport(conversation=conversation, question=question, answer=answer)
            if answer is not None:
                turn.passages = list(answer.passages.all())
                turn.judgments = list(answer.judgments.all())
                scores = []
                for judgment in turn.judgments:
                    judgment.effective, judgment.score = judgment_effective(judgment=judgment, spec=spec)
                    if judgment.score is not None:
                        scores.append(judgment.score)
                if turn.judgments:
                    first = turn.judgments[0]
                    turn.ratings = first.effective
                    turn.evaluation_latency_ms = sum(j.latency_ms or 0 for j in turn.judgments) or None
                if scores:
                    turn.score = (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.1"))
                    if len(scores) > 1:
                        turn.score_spread = (min(scores), max(scores))
                        turn.unstable = max(scores) - min(scores) > UNSTABLE_SPREAD
            turns.append(turn)
        result.append((conversation, turns))

    scores = session_scores(session=session)
    answer_rows = Answer.objects.filter(question__session=session)
    agg = answer_rows.aggregate(
        generation_ms=Sum("response_latency_ms"), tokens_in=Sum("prompt_tokens"), tokens_out=Sum("completion_tokens")
    )
    end = session.finished_at or (timezone.now() if session.started_at else None)
    wall_ms = int((end - session.started_at).total_seconds() * 1000) if session.started_at and end else None
    question_count = sum(len(turns) for _, turns in result)
    answered = sum(1 for _, turns in result for t in turns if t.answer and t.answer.status == Answer.Status.OK)
    failed = sum(1 for _, turns in result for t in turns if t.answer and t.answer.status == Answer.Status.FAILED)
    totals = {
        "wall_clock_ms": wall_ms,
        "generation_ms": agg["generation_ms"] or 0,
        "judging_ms": scores.judging_ms_total,
        "questions": question_count,
        "conversations": len(result),
        "answered": answered,
        "failed_answers": failed,
        "unparseable_judgments": scores.unparseable,
        "failed_judgments": scores.failed,
        "pending_judgments": scores.pending,
        "flagged_for_review": scores.flagged,
        "prompt_tokens": agg["tokens_in"] or 0,
        "completion_tokens": agg["tokens_out"] or 0,
        "spent_usd": str(session.spent_usd),
        "mean_score": scores.overall,
        "reference_similarity": _reference_similarity(result),
        "per_criterion": [(c, scores.per_criterion[c.key]) for c in spec.criteria],
    }
    overrides = list(
        Override.objects.filter(judgment__answer__question__session=session)
        .select_related("reviewer", "criterion", "judgment__answer__question")
        .order_by("created_at")
    )
    return SessionReport(
        session=session,
        conversations=result,
        totals=totals,
        scores=scores,
        robustness=session_robustness(session=session) if session.robustness else None,
        agreement=session_agreement(session=session),
        overrides=overrides,
    )


def _reference_similarity(conversations: list[tuple[Conversation, list[TurnReport]]]) -> dict:
    """Mean similarity to the reference answers, over the answered questions that have one."""
    values = [
        turn.answer.reference_similarity
        for _, turns in conversations
        for turn in turns
        if turn.answer is not None and turn.answer.reference_similarity is not None
    ]
    with_reference = sum(1 for _, turns in conversations for turn in turns if turn.question.reference_answer)
    mean = round(sum(values) / len(values), 3) if values else None
    return {"mean": mean, "n_scored": len(values), "n_with_reference": with_reference}


@dataclass
class ComparedTurn:
    conversation: str
    question: str
    original_score: Decimal | None
    new_score: Decimal | None
    changes: list[tuple[str, str, str]]  # (criterion name, original rating, new rating): the judges' own
    # Reviewers' overrides, shown apart: (side "original"/"re-judge", criterion name, judge said, reviewer said).
    overrides: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def delta(self) -> Decimal | None:
        if self.original_score is None or self.new_score is None:
            return None
        return self.new_score - self.original_score


@dataclass
class SessionComparison:
    original: EvaluationSession
    rejudge: EvaluationSession
    turns: list[ComparedTurn]
    original_mean: MeanSummary
    new_mean: MeanSummary
    ratings_compared: int
    ratings_changed: int
    provenance: list[tuple[str, str, str]]  # (what, original, re-judge) where they differ

    @property
    def agreement(self) -> float | None:
        if not self.ratings_compared:
            return None
        return 1 - self.ratings_changed / self.ratings_compared

    @property
    def mean_abs_delta(self) -> Decimal | None:
        deltas = [abs(t.delta) for t in self.turns if t.delta is not None]
        if not deltas:
            return None
        return (sum(deltas, Decimal(0)) / len(deltas)).quantize(Decimal("0.1"))


def session_comparison(*, rejudge: EvaluationSession) -> SessionComparison:
    """A re-judge against the session it re-judged: scores, changed ratings, what differs."""
    original = rejudge.rejudge_of
    if original is None:
        raise ValueError("not a re-judge")
    before, after = session_report(session=original), session_report(session=rejudge)

    def by_key(report: SessionReport) -> dict[tuple[str, str], TurnReport]:
        return {
            (str(conversation), turn.question.text): turn
            for conversation, turns in report.conversations
            for turn in turns
            if turn.answer is not None and turn.answer.status == Answer.Status.OK
        }

    old, new = by_key(before), by_key(after)
    turns: list[ComparedTurn] = []
    compared = changed = 0
    for key, new_turn in new.items():
        old_turn = old.get(key)
        if old_turn is None:
            continue
        old_ratings = {r.key: r for r in old_turn.ratings}
        changes = []
        # The judges are compared on their own ratings: an override is a reviewer's change.
        for rating in new_turn.ratings:
            previous = old_ratings.get(rating.key)
            if previous is None:
                continue
            compared += 1
            if previous.judge_rating != rating.judge_rating:
                changed += 1
                changes.append((rating.name, previous.judge_rating, rating.judge_rating))
        overrides = [
            (side, r.name, r.judge_rating, r.rating)
            for side, turn in (("original", old_turn), ("re-judge", new_turn))
            for r in turn.ratings
            if r.overridden
        ]
        turns.append(
            ComparedTurn(
                conversation=key[0],
                question=key[1],
                original_score=old_turn.score,
                new_score=new_turn.score,
                changes=changes,
                overrides=overrides,
            )
        )
    return SessionComparison(
        original=original,
        rejudge=rejudge,
        turns=turns,
        original_mean=mean_with_count(t.original_score for t in turns),
        new_mean=mean_with_count(t.new_score for t in turns),
        ratings_compared=compared,
        ratings_changed=changed,
        provenance=_provenance_differences(original=original, rejudge=rejudge),
    )


def session_first_provenance(*, session: EvaluationSession) -> dict:
    """The provenance of the session's first judged answer (judge prompt hash, corpus version, …)."""
    value = (
        Judgment.objects.filter(answer__question__session=session, status=Judgment.Status.OK)
        .order_by("pk")
        .values_list("provenance", flat=True)
        .first()
    )
    return value or {}


def _provenance_differences(*, original: EvaluationSession, rejudge: EvaluationSession) -> list[tuple[str, str, str]]:
    a, b = session_first_provenance(session=original), session_first_provenance(session=rejudge)
    rows = [
        (
            "judge",
            f"{original.judge_provider} / {original.judge_model}",
            f"{rejudge.judge_provider} / {rejudge.judge_model}",
        ),
        ("rubric", str(original.rubric), str(rejudge.rubric)),
        ("response format", str(a.get("response_format", "—")), str(b.get("response_format", "—"))),
        (
            "corpus version",
            str((a.get("corpus") or {}).get("version", "—")),
            str((b.get("corpus") or {}).get("version", "—")),
        ),
        ("judge prompt (first item)", (a.get("prompt_hash") or "—")[:12], (b.get("prompt_hash") or "—")[:12]),
    ]
    return [row for row in rows if row[1] != row[2]]
