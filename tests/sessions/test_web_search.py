"""Live web search as an extra context source, against a local fake SearxNG server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from core.runmode import in_process_tasks
from sessions.models import Answer, RetrievedPassage
from sessions.services import session_create, session_start
from sessions.session_settings import SessionSettings
from tests.sessions.pipeline_support import conversations, make_corpus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def searxng():
    queries: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802
            query = parse_qs(urlparse(self.path).query)
            queries.append(query.get("q", [""])[0])
            body = json.dumps(
                {
                    "results": [
                        {
                            "title": "SAT on the web",
                            "url": "https://blog.example.org/sat",
                            "content": "Sparse Adapter Tuning was presented at a 2026 workshop on efficient tuning.",
                        },
                        {"title": "Other", "url": "https://news.example.com/x", "content": "Unrelated news item."},
                    ]
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", queries
    httpd.shutdown()


def test_web_results_are_tagged_and_fused_with_corpus_passages(team, tmp_path, settings, searxng):
    base_url, queries = searxng
    settings.WEB_SEARCH_URL = base_url
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = session_create(
        team=team,
        corpus=corpus,
        name="web",
        conversations=conversations([["Where was Sparse Adapter Tuning presented?"]]),
        settings=SessionSettings(web_search=True, retrieval_k=4),
    )
    with in_process_tasks():
        session_start(session=session)
    answer = Answer.objects.get(question__session=session)
    assert queries == ["Where was Sparse Adapter Tuning presented?"]
    passages = list(answer.passages.order_by("rank"))
    assert len(passages) == 4
    web = [p for p in passages if p.source == RetrievedPassage.Source.WEB]
    corpus_passages = [p for p in passages if p.source == RetrievedPassage.Source.CORPUS]
    assert web and corpus_passages, "both sources are fused into one ranked list"
    assert {p.source_tag for p in web} <= {"[Web: blog.example.org]", "[Web: news.example.com]"}
    assert web[0].url.startswith("https://")
    assert "[Web: blog.example.org] Sparse Adapter Tuning was presented at a 2026 workshop" in answer.prompt


def test_without_a_configured_search_endpoint_the_corpus_alone_answers(team, tmp_path, settings):
    settings.WEB_SEARCH_URL = ""
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = session_create(
        team=team,
        corpus=corpus,
        name="web",
        conversations=conversations([["What is SAT?"]]),
        settings=SessionSettings(web_search=True),
    )
    with in_process_tasks():
        session_start(session=session)
    answer = Answer.objects.get(question__session=session)
    assert answer.status == Answer.Status.OK
    assert not answer.passages.filter(source=RetrievedPassage.Source.WEB).exists()


def test_an_unreachable_search_endpoint_does_not_fail_the_answer(team, tmp_path, settings):
    settings.WEB_SEARCH_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    corpus = make_corpus(team=team, tmp_path=tmp_path)
    session = session_create(
        team=team,
        corpus=corpus,
        name="web",
        conversations=conversations([["What is SAT?"]]),
        settings=SessionSettings(web_search=True),
    )
    with in_process_tasks():
        session_start(session=session)
    answer = Answer.objects.get(question__session=session)
    assert answer.status == Answer.Status.OK and answer.passages.count() > 0
