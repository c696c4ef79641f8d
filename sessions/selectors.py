"""Reads for sessions: team-scoped querysets, progress, and the report every view shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.selectors import scope_to_user
from sessions.models import Answer, Conversation, EvaluationSession, Question, RetrievedPassage


def sessions_for_user(*, user) -> QuerySet[EvaluationSession]:
    return scope_to_user(EvaluationSession.objects.select_related("corpus", "team", "rubric"), user=user)


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


def session_progress(*, session: EvaluationSession) -> Progress:
    from judging.models import Judgment

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


@dataclass
class TurnReport:
    question: Question
    answer: Answer | None
    passages: list[RetrievedPassage] = field(default_factory=list)
    judgments: list = field(default_factory=list)  # judging.models.Judgment with .effective / .score
    ratings: list = field(default_factory=list)  # effective ratings of the first judgment
    score: Decimal | None = None
    score_spread: tuple[Decimal, Decimal] | None = None
    unstable: bool = False
    evaluation_latency_ms: int | None = None


@dataclass
class SessionReport:
    session: EvaluationSession
    conversations: list[tuple[Conversation, list[TurnReport]]]
    totals: dict
    scores: object  # judging.selectors.SessionScores
    robustness: object | None
    overrides: list


# Self-consistency: repeats whose weighted scores differ by more than this are flagged.
UNSTABLE_SPREAD = Decimal("10.0")


def session_report(*, session: EvaluationSession) -> SessionReport:
    """Everything the session page, the API results, the reports and `evaluate` show."""
    from judging.models import Judgment, Override
    from judging.selectors import (
        judgment_effective,
        judgments_prefetched,
        rubric_spec,
        session_robustness,
        session_scores,
    )

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
            turn = TurnReport(question=question, answer=answer)
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
        "flagged_for_review": scores.flagged,
        "prompt_tokens": agg["tokens_in"] or 0,
        "completion_tokens": agg["tokens_out"] or 0,
        "spent_usd": str(session.spent_usd),
        "mean_score": scores.overall,
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
        overrides=overrides,
    )
