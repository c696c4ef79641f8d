"""Schemathesis over the whole API, against the live test server, with two teams' tokens.

Every operation, every check (server errors, response schema and status code conformance,
positive and negative data, auth, …), a bounded number of examples per operation. Team B's
run meets team A's objects (ids are small integers, and both teams have a corpus, a judged
session and judgments), which must answer 404 like any id that does not exist.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from corpora.selectors import chunks_search
from tests.sessions.api_support import judged_session, make_corpus

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Team A's run explores with every phase; team B's, shorter, meets team A's objects. The
# coverage phase (systematic boundary values of every parameter) is most of the time.
RUNS = {
    "A": {"max_examples": 8, "phases": "examples,coverage,fuzzing,stateful"},
    "B": {"max_examples": 3, "phases": "examples,fuzzing,stateful"},
}


def _purge_broker() -> None:
    """Sessions and uploads the fuzzer creates enqueue work that no worker takes here."""
    from config.celery_app import app

    with app.connection_for_write() as conn:
        for queue in ("ingest", "retrieval", "generation", "judging"):
            conn.default_channel.queue_purge(queue)


@pytest.fixture
def team_tokens(team_factory, user_factory, settings, tmp_path) -> dict[str, str]:
    settings.MEDIA_ROOT = tmp_path / "media"
    tokens = {}
    for name in RUNS:
        team = team_factory(f"Fuzz {name}")
        user = user_factory(team=team, role="reviewer", username=f"fuzz-{name.lower()}")
        corpus = make_corpus(team=team, tmp_path=tmp_path, name=f"sat{name.lower()}")
        judged_session(team=team, user=user)
        tokens[name] = Token.objects.create(user=user).key
    # Load the embedding model now, not inside the first search request the fuzzer times.
    chunks_search(corpus=corpus, query="warm up", k=1, mode="hybrid")
    yield tokens
    _purge_broker()


def _fuzz(*, base_url: str, token: str, max_examples: int, phases: str, workdir: Path) -> subprocess.CompletedProcess:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/api/schema/",
        "--checks",
        "all",
        "--header",
        f"Authorization: Token {token}",
        "--max-examples",
        str(max_examples),
        "--phases",
        phases,
        "--generation-database",
        "none",
        "--seed",
        "14",
        "--workers",
        "1",
        "--no-shrink",
        "--request-timeout",
        "30",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=workdir)


def test_schema_fuzzer_finds_no_failure_for_either_team(live_server, team_tokens, tmp_path) -> None:
    for name, token in team_tokens.items():
        run = _fuzz(base_url=live_server.url, token=token, workdir=tmp_path, **RUNS[name])
        output = run.stdout + run.stderr
        assert run.returncode == 0, f"team {name}:\n{output[-12000:]}"
        assert f"Tested: {_operation_count()}" in output, output[-3000:]


def _operation_count() -> int:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sum(len(operations) for operations in schema["paths"].values())
