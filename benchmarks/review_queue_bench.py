"""Review queue benchmark: the queue's pages over a team with many judgments.

Seeds (once) a team with SESSIONS × ANSWERS genuine judgments (five verdicts each), a probe
judgment for every tenth answer and an override on every thirtieth, then times one page
(50 rows) of the queue through the real view for each way a reviewer reaches it: default
order, lowest effective score first, needs attention, a criterion's rating, a text search.
Prints the median of five requests each and the number of queries.

Usage: python benchmarks/review_queue_bench.py [--sessions 50] [--answers 200]
Uses its own database (assay_bench_review); needs `make services`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["ASSAY_DB_NAME"] = "assay_bench_review"
os.environ["DEBUG"] = "0"

LABELS = ["Excellent", "Good", "Fair", "Bad", "Worse"]
POINTS = {"Excellent": 100, "Good": 80, "Fair": 60, "Bad": 40, "Worse": 20}


WEIGHTS = [0.5, 0.2, 0.1, 0.1, 0.1]  # the default rubric's


def _label(i: int, k: int) -> str:
    return LABELS[(i * 7 + k) % 5]


def _score(i: int) -> float:
    return round(sum(w * POINTS[_label(i, k)] for k, w in enumerate(WEIGHTS)), 1)


def _ensure_database() -> None:
    from config import embedded

    embedded.start()
    import psycopg

    settings = embedded.database_settings(name="postgres")
    with psycopg.connect(host=settings["HOST"], user="postgres", dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'assay_bench_review'").fetchone():
            conn.execute("CREATE DATABASE assay_bench_review")


def _seed(n_sessions: int, n_answers: int):
    from django.db import transaction

    from accounts.services import membership_grant, team_create, user_ensure
    from judging.models import CriterionVerdict, Judgment, Override, RobustnessProbe
    from judging.selectors import rubric_default
    from sessions.models import Answer, Conversation, EvaluationSession, Question

    team = team_create(name="Bench review", slug="bench-review")
    user = user_ensure(username="bench-reviewer", password="bench-password")
    membership_grant(team=team, user=user, role="reviewer")
    if EvaluationSession.objects.filter(team=team).count() >= n_sessions:
        return user
    rubric = rubric_default()
    criteria = list(rubric.criteria.order_by("position"))
    with transaction.atomic():
        for s in range(n_sessions):
            session = EvaluationSession.objects.create(
                team=team, name=f"bench {s}", rubric=rubric, status="completed", judge_provider="offline"
            )
            conversation = Conversation.objects.create(session=session, position=0, label="c1")
            questions = Question.objects.bulk_create(
                Question(session=session, conversation=conversation, position=i, text=f"Question {s}-{i} about SAT?")
                for i in range(n_answers)
            )
            answers = Answer.objects.bulk_create(
                Answer(question=q, status="ok", text=f"Answer {q.text} with some words.", provider="offline")
                for q in questions
            )
            judgments = Judgment.objects.bulk_create(
                Judgment(answer=a, rubric=rubric, status="ok", judge_provider="offline", weighted_score=_score(i))
                for i, a in enumerate(answers)
            )
            probes = RobustnessProbe.objects.bulk_create(
                RobustnessProbe(answer=a, strategy="off_topic", fake_answer="Sourdough.") for a in answers[::10]
            )
            judgments += Judgment.objects.bulk_create(
                Judgment(probe=p, rubric=rubric, status="ok", judge_provider="offline", weighted_score=_score(i + 3))
                for i, p in enumerate(probes)
            )
            offsets = list(range(len(answers))) + [i + 3 for i in range(len(probes))]
            CriterionVerdict.objects.bulk_create(
                CriterionVerdict(judgment=j, criterion=c, rating=_label(i, k), points=POINTS[_label(i, k)])
                for j, i in zip(judgments, offsets, strict=True)
                for k, c in enumerate(criteria)
            )
            Override.objects.bulk_create(
                Override(judgment=j, criterion=criteria[1], reviewer=user, old_rating="?", new_rating="Bad", reason="b")
                for j in judgments[::30]
            )
    return user


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--answers", type=int, default=200)
    args = parser.parse_args()
    _ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    user = _seed(args.sessions, args.answers)
    print(f"seeded/checked in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as autovacuum keeps them in a running system
    from judging.models import Judgment

    print(f"judgments in the team: {Judgment.objects.count():,}")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    cases = {
        "default order": {},
        "lowest score first": {"sort": "score"},
        "needs attention": {"state": "attention", "kind": "all"},
        "faithfulness rated Bad": {"criterion": "faithfulness", "rating": "Bad"},
        "search 'about SAT'": {"q": "about SAT", "sort": "score"},
        "page 100, lowest first": {"sort": "score", "page": "100"},
    }
    for name, params in cases.items():
        times = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get("/review/", params)
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        print(f"{name:<26} {statistics.median(times):7.0f} ms  {len(queries.captured_queries)} queries")


if __name__ == "__main__":
    main()
