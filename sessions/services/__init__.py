"""Sessions' writes, one module per subject:

- ``creation``: sessions from questions, from ready answers (judge-only), re-judges;
- ``estimate``: calls, tokens and money before a session runs;
- ``lifecycle``: start, cancel, resume;
- ``pipeline``: each turn's retrieval stage (rewrite, search, prompt) and generation stage;
- ``judgments``: what ties an answer to its judgments (schedule, probes, run, re-queue,
  a judge-only session's run, finish the session, score summaries), calling the judge in
  ``judging.engine``.
"""

from sessions.services.creation import session_create, session_create_judge_only, session_rejudge
from sessions.services.estimate import session_estimate
from sessions.services.judgments import (
    judgment_run,
    judgments_requeue_for_session,
    judgments_schedule_for_answer,
    session_finalize_if_done,
    session_judge,
    session_score_summary_store,
)
from sessions.services.lifecycle import session_cancel, session_resume, session_start
from sessions.services.pipeline import (
    answer_complete,
    answer_generate,
    answer_retrieve,
    conversation_advance,
    prompt_render,
)

__all__ = [
    "answer_complete",
    "answer_generate",
    "answer_retrieve",
    "conversation_advance",
    "judgment_run",
    "judgments_requeue_for_session",
    "judgments_schedule_for_answer",
    "prompt_render",
    "session_cancel",
    "session_create",
    "session_create_judge_only",
    "session_estimate",
    "session_finalize_if_done",
    "session_judge",
    "session_rejudge",
    "session_resume",
    "session_score_summary_store",
    "session_start",
]
