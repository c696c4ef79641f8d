"""A Python client generated from /api/schema/ runs the main flow, unchanged, against the live server.

openapi-python-client (pinned in requirements-dev.txt) writes the client into a temporary
folder; the test imports it and creates a corpus, uploads a document, submits a batch of
questions and reads the results and the PDF report. Tasks run in process (Celery eager
mode), so the upload is indexed and the batch answered and judged within the requests.
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from rest_framework.authtoken.models import Token

from core.runmode import in_process_tasks
from tests.sessions.api_support import CORPUS_TEXT

pytestmark = pytest.mark.django_db(transaction=True)

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "assay_api_client"
# Generator settings, not edits of its output: binary report types are read as files.
GENERATOR_CONFIG = f"""
package_name_override: {PACKAGE}
post_hooks: []
content_type_overrides:
  application/pdf: application/octet-stream
  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: application/octet-stream
"""


@pytest.fixture
def generated(live_server, tmp_path) -> Iterator[ModuleType]:
    import httpx

    schema = tmp_path / "schema.json"
    schema.write_bytes(httpx.get(f"{live_server.url}/api/schema/?format=json").raise_for_status().content)
    config = tmp_path / "config.yaml"
    config.write_text(GENERATOR_CONFIG, encoding="utf-8")
    run = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(schema), "--config", str(config), "--meta", "none"]
        + ["--output-path", str(tmp_path / PACKAGE), "--fail-on-warning"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _api(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.api.v1.{name}")


def test_a_generated_client_runs_the_main_flow(generated, live_server, member, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")
    client = generated.AuthenticatedClient(
        base_url=live_server.url, token=Token.objects.create(user=member).key, prefix="Token", timeout=120
    )

    with in_process_tasks():
        corpus = _api("v1_corpora_create").sync(client=client, body=models.CorpusCreateRequest(name="papers"))
        upload = models.DocumentUploadRequest(
            files=[types.File(payload=io.BytesIO(CORPUS_TEXT.encode()), file_name="sat.md", mime_type="text/markdown")]
        )
        added = _api("v1_corpora_documents_create").sync(id=corpus.id, client=client, body=upload)
        batch = _api("v1_batches_create").sync(
            client=client,
            body=models.QuestionsBatchRequest(
                kind=models.QuestionsBatchKindEnum.QUESTIONS,
                corpus=corpus.id,
                conversations=[
                    models.ConversationInputRequest(questions=["How many weights does SAT update?", "Is it fast?"])
                ],
            ),
            idempotency_key="client-run-1",
        )
    results = _api("v1_sessions_results_retrieve").sync(id=batch.session.id, client=client)
    documents = _api("v1_corpora_documents_list").sync(id=corpus.id, client=client)
    report = _api("v1_sessions_report_pdf_retrieve").sync_detailed(id=batch.session.id, client=client)
    refused = _api("v1_corpora_create").sync(client=client, body=models.CorpusCreateRequest(name="papers"))

    assert isinstance(corpus, models.Corpus) and corpus.name == "papers"
    assert isinstance(added, models.DocumentAddResult) and added.results[0].created
    assert documents.results[0].status == models.DocumentStatusEnum.READY and documents.results[0].url == ""
    assert isinstance(batch, models.Batch) and batch.kind == models.BatchKindEnum.QUESTIONS
    assert isinstance(results, models.Results) and results.status == models.SessionStatusEnum.COMPLETED
    assert [q.question for q in results.questions] == ["How many weights does SAT update?", "Is it fast?"]
    assert all(q.answer_status == models.AnswerStatusEnum.OK and q.answer for q in results.questions)
    assert "0.8%" in results.questions[0].answer and results.questions[0].passages
    assert isinstance(results.totals.mean_score.mean, float) and results.totals.mean_score.n_scored == 2
    assert all(isinstance(q.weighted_score, float) for q in results.questions)
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    assert isinstance(refused, models.Error) and refused.code == "invalid"
    assert "already has a corpus" in refused.errors["name"][0]
