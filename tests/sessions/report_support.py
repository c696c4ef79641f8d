"""A large judged session for the report tests and `benchmarks/report_bench.py`, built in bulk."""

from __future__ import annotations

import time

WORDS = [
    "sparse", "adapter", "tuning", "updates", "a", "small", "share", "of", "the", "weights", "of", "a",
    "pretrained", "model", "and", "reaches", "close", "to", "full", "fine-tuning", "accuracy", "on", "SQuAD",
    "while", "adding", "no", "inference", "latency", "because", "the", "update", "is", "merged", "after",
    "training", "the", "learning", "rate", "warmup", "and", "mask", "schedule", "matter", "most",
]  # fmt: skip
STRATEGIES = ["off_topic", "fabricated_numbers", "contradiction", "entity_swap", "truncation", "padding", "injection"]


def _text(seed: int, chars: int) -> str:
    words, size, i = [], 0, seed
    while size < chars:
        word = WORDS[(i * 7 + seed) % len(WORDS)]
        words.append(word)
        size += len(word) + 1
        i += 1
    return " ".join(words).capitalize() + "."


def build_session(*, questions: int, strategies: int, team=None):
    from accounts.services import team_create
    from judging.models import CriterionVerdict, Judgment, RobustnessProbe
    from judging.selectors import rubric_criterion_ids, rubric_spec
    from sessions.models import Answer, EvaluationSession, RetrievedPassage
    from sessions.services import session_create_judge_only
    from sessions.session_settings import SessionSettings

    team = team or team_create(name=f"bench {time.time_ns()}")
    items = [
        {
            "question": f"Question {i + 1}: {_text(i, 90)}?",
            "answer": _text(i + 1, 600),
            "context": [f"[Doc: paper{k}.pdf p.{k + 1}] {_text(i + k, 400)}" for k in range(5)],
            "conversation": f"conversation {i // 5 + 1}",
        }
        for i in range(questions)
    ]
    session = session_create_judge_only(
        team=team, name="Report benchmark", items=items, settings=SessionSettings(robustness=True)
    )
    spec = rubric_spec(rubric=session.rubric)
    criterion_ids = rubric_criterion_ids(rubric=session.rubric)
    labels = ["Excellent", "Good", "Fair", "Good", "Excellent"]
    answers = list(Answer.objects.filter(question__session=session).order_by("pk"))
    Answer.objects.filter(pk__in=[a.pk for a in answers]).update(
        prompt="You are a helpful assistant.\n" + _text(3, 2500), response_latency_ms=1800
    )
    if not RetrievedPassage.objects.filter(answer__in=answers).exists():
        RetrievedPassage.objects.bulk_create(
            RetrievedPassage(
                answer=a, rank=k + 1, score=0.9 - k / 10, source_tag=f"[Doc: paper{k}.pdf]", text=_text(k, 400)
            )
            for a in answers
            for k in range(5)
        )

    def judge(rows: list[Judgment], seed: int) -> None:
        Judgment.objects.bulk_create(rows)
        verdicts = []
        for index, judgment in enumerate(rows):
            for c_index, criterion in enumerate(spec.criteria):
                label = labels[(index + c_index + seed) % len(labels)] if seed == 0 else "Worse"
                verdicts.append(
                    CriterionVerdict(
                        judgment=judgment,
                        criterion_id=criterion_ids[criterion.key],
                        rating=label,
                        points=spec.level(label).points,
                        rationale=_text(index + c_index, 160),
                    )
                )
        CriterionVerdict.objects.bulk_create(verdicts)

    common = {"rubric": session.rubric, "judge_provider": "offline", "status": Judgment.Status.OK, "latency_ms": 900}
    judge([Judgment(answer=a, prompt_hash="ab" * 32, **common) for a in answers], seed=0)
    probes = RobustnessProbe.objects.bulk_create(
        RobustnessProbe(answer=a, strategy=s, fake_answer=_text(a.pk, 600), expected_criteria=["faithfulness"])
        for a in answers
        for s in STRATEGIES[:strategies]
    )
    judge([Judgment(probe=p, **common) for p in probes], seed=1)
    EvaluationSession.objects.filter(pk=session.pk).update(status=EvaluationSession.Status.COMPLETED)
    session.refresh_from_db()
    return session, len(probes)
