"""Experiments: two or more sessions that asked the same questions, side by side.

Questions are matched by their text within a conversation of the same label (a session
created from the same question file matches turn for turn, whatever corpus, generator, judge
or rubric it used). The oldest session is the baseline: deltas, "better" and "worse" are
against it. Totals are means over the questions every session shares, so they compare like
with like; each session's own mean over all its questions is shown next to them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from judging.scoring import MeanSummary, mean_with_count
from sessions.models import Answer, EvaluationSession
from sessions.selectors import TurnReport, session_first_provenance, session_report

MAX_SESSIONS = 6


@dataclass
class Cell:
    session: EvaluationSession
    turn: TurnReport
    score: Decimal | None
    ratings: dict[str, str]
    delta: Decimal | None = None  # against the baseline's score
    rating_changes: list[tuple[str, str, str]] = field(default_factory=list)  # (criterion, baseline, this)

    @property
    def answer_text(self) -> str:
        answer = self.turn.answer
        if answer is None:
            return ""
        return answer.text if answer.status == Answer.Status.OK else f"(failed: {answer.error})"


@dataclass
class Row:
    conversation: str
    question: str
    cells: list[Cell | None]

    @property
    def shared(self) -> bool:
        return all(cell is not None for cell in self.cells)

    @property
    def deltas(self) -> list[Decimal]:
        return [c.delta for c in self.cells[1:] if c is not None and c.delta is not None]

    @property
    def better(self) -> bool:
        return any(d > 0 for d in self.deltas)

    @property
    def worse(self) -> bool:
        return any(d < 0 for d in self.deltas)

    @property
    def changed(self) -> bool:
        """A score moved, a rating moved, or the answer itself is different."""
        if self.better or self.worse:
            return True
        present = [c for c in self.cells if c is not None]
        if any(c.rating_changes for c in present):
            return True
        return len({c.answer_text for c in present}) > 1


@dataclass
class SessionTotals:
    session: EvaluationSession
    shared_mean: MeanSummary  # over the questions every session has
    own_mean: MeanSummary  # over all of this session's questions
    delta: Decimal | None  # shared mean against the baseline's
    better: int = 0
    worse: int = 0


@dataclass
class Experiment:
    sessions: list[EvaluationSession]
    rows: list[Row]
    totals: list[SessionTotals]
    criteria: list[tuple[str, str]]  # (key, name) of the baseline's rubric
    provenance: list[tuple[str, list[str], bool]]  # (what, value per session, differs)

    @property
    def shared_count(self) -> int:
        return sum(1 for row in self.rows if row.shared)


def _key(conversation, turn: TurnReport) -> tuple[str, str]:
    return (str(conversation), " ".join(turn.question.text.split()))


def experiment_compare(*, sessions: list[EvaluationSession]) -> Experiment:
    """`sessions` side by side, the oldest first (the baseline)."""
    sessions = sorted(sessions, key=lambda s: (s.created_at, s.pk))
    reports = [session_report(session=s) for s in sessions]
    order: dict[tuple[str, str], None] = {}  # first-seen order of the questions
    by_session: list[dict[tuple[str, str], TurnReport]] = []
    for report in reports:
        turns = {}
        for conversation, conversation_turns in report.conversations:
            for turn in conversation_turns:
                key = _key(conversation, turn)
                turns.setdefault(key, turn)
                order.setdefault(key, None)
        by_session.append(turns)
    criteria_names = {
        r.key: r.name for report in reports for _, ts in report.conversations for t in ts for r in t.ratings
    }

    rows: list[Row] = []
    for key in order:
        cells: list[Cell | None] = []
        for session, turns in zip(sessions, by_session, strict=True):
            turn = turns.get(key)
            cells.append(
                None
                if turn is None
                else Cell(session=session, turn=turn, score=turn.score, ratings={r.key: r.rating for r in turn.ratings})
            )
        baseline = cells[0]
        for cell in cells[1:]:
            if cell is None or baseline is None:
                continue
            if cell.score is not None and baseline.score is not None:
                cell.delta = cell.score - baseline.score
            cell.rating_changes = [
                (criteria_names.get(k, k), baseline.ratings[k], label)
                for k, label in cell.ratings.items()
                if k in baseline.ratings and baseline.ratings[k] != label
            ]
        rows.append(Row(conversation=key[0], question=key[1], cells=cells))

    shared = [row for row in rows if row.shared]
    totals = []
    for index, session in enumerate(sessions):
        shared_mean = mean_with_count(row.cells[index].score for row in shared)
        totals.append(
            SessionTotals(
                session=session,
                shared_mean=shared_mean,
                own_mean=reports[index].scores.overall,
                delta=None,
                better=sum(1 for row in shared if (row.cells[index].delta or 0) > 0),
                worse=sum(1 for row in shared if (row.cells[index].delta or 0) < 0),
            )
        )
    base_mean = totals[0].shared_mean.mean
    for total in totals[1:]:
        if total.shared_mean.mean is not None and base_mean is not None:
            total.delta = total.shared_mean.mean - base_mean
    criteria = [(c.key, c.name) for c, _ in reports[0].totals["per_criterion"]]
    return Experiment(sessions=sessions, rows=rows, totals=totals, criteria=criteria, provenance=_provenance(sessions))


def _provenance(sessions: list[EvaluationSession]) -> list[tuple[str, list[str], bool]]:
    """What produced each session's results; rows where the sessions differ are marked."""
    firsts = [session_first_provenance(session=s) for s in sessions]

    def model(provider: str, name: str) -> str:
        return f"{provider} / {name}" if name else provider

    rows = [
        ("corpus", [f"{s.corpus.name} (v{s.corpus.version})" if s.corpus else "— (judge-only)" for s in sessions]),
        ("corpus version at judging", [str((p.get("corpus") or {}).get("version", "—")) for p in firsts]),
        ("retrieval", [f"{s.retrieval_mode}, k={s.retrieval_k}{', web' if s.web_search else ''}" for s in sessions]),
        ("generator", [model(s.generator_provider, s.generator_model) for s in sessions]),
        ("generator temperature", [str(s.temperature) for s in sessions]),
        ("prompt template", [hashlib.sha256(s.prompt_template.encode()).hexdigest()[:12] for s in sessions]),
        ("judge", [model(s.judge_provider, s.judge_model) for s in sessions]),
        ("judge repeats", [str(s.judge_repeats) for s in sessions]),
        ("rubric", [str(s.rubric) for s in sessions]),
        ("judge prompt (first item)", [(p.get("prompt_hash") or "—")[:12] for p in firsts]),
        ("robustness probes", ["yes" if s.robustness else "no" for s in sessions]),
    ]
    return [(what, values, len(set(values)) > 1) for what, values in rows]
