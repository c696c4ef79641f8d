from __future__ import annotations

from accounts.models import Team


def dashboard_summary(*, team: Team) -> dict:
    from corpora.models import Corpus, Document
    from sessions.models import EvaluationSession

    return {
        "corpora": Corpus.objects.filter(team=team).count(),
        "documents": Document.objects.filter(corpus__team=team).count(),
        "sessions": EvaluationSession.objects.filter(team=team).count(),
        "recent_sessions": list(
            EvaluationSession.objects.filter(team=team).select_related("corpus").order_by("-created_at")[:8]
        ),
    }
