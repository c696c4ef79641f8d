"""The session's results as JSON and CSV downloads: the same document and rows as the API's `results/`.

JSON is the API's `results/` body, serialized by the same serializer. CSV has one row per
question with the API's per-question fields, and per criterion its effective rating, the
judge's rating and the rationale. Spreadsheet programs run a cell that starts with
``= + - @`` (or a tab or carriage return) as a formula, so such text cells get a leading
apostrophe (the usual CSV-injection guard); numbers are left alone.
"""

from __future__ import annotations

import csv
import io
import json

from rest_framework.utils.encoders import JSONEncoder

from sessions.api.serializers import ResultsSerializer, SessionResults
from sessions.reports.data import probe_results
from sessions.selectors import SessionReport

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUESTION_FIELDS = [
    "conversation", "conversation_position", "position", "question_id", "question", "reference_answer",
    "reference_similarity", "answer_id", "answer_status", "answer", "answer_error", "attempt", "provider",
    "model", "retrieval_query", "response_latency_ms", "evaluation_latency_ms", "weighted_score", "unstable",
]  # fmt: skip


def results_document(report: SessionReport) -> dict:
    """The API's `results/` body for this report."""
    return ResultsSerializer(SessionResults(report=report, probes=probe_results(session=report.session))).data


def render_results_json(report: SessionReport) -> bytes:
    return json.dumps(results_document(report), cls=JSONEncoder, ensure_ascii=False, indent=1).encode("utf-8")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


def render_results_csv(report: SessionReport) -> bytes:
    document = results_document(report)
    criteria = [c["key"] for c in document["totals"]["per_criterion"]]
    header = list(QUESTION_FIELDS)
    for key in criteria:
        header += [f"{key}_rating", f"{key}_judge_rating", f"{key}_rationale"]
    header += ["passages", "prompt"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for question in document["questions"]:
        verdicts = {v["criterion"]: v for v in question["verdicts"]}
        row = [question[field] for field in QUESTION_FIELDS]
        for key in criteria:
            v = verdicts.get(key) or {}
            row += [v.get("rating"), v.get("judge_rating"), v.get("rationale")]
        row += [" | ".join(p["tag"] for p in question["passages"]), question["prompt"]]
        writer.writerow([_cell(value) for value in row])
    # A byte-order mark so that Excel opens the UTF-8 file with the right encoding.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
