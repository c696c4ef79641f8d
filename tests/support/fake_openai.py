"""A fake OpenAI-compatible HTTP server for tests and benchmarks (no network beyond 127.0.0.1).

Serves ``POST /v1/chat/completions``, ``POST /v1/embeddings`` and ``GET /v1/models``.
Each request consumes one behaviour from a script (default ``"ok"``):

- ``"ok"``: a normal response;
- ``"429"`` / ``"429:<seconds>"``: rate limited, with ``Retry-After`` (default 0);
- ``"500"``, ``"503"``, ``"400"``, any ``"<status>"``: that error status;
- ``"timeout"`` / ``"timeout:<seconds>"``: sleep (default 5 s) before answering, longer
  than a test client's timeout;
- ``"malformed"``: 200 with ``application/json`` content type and a body that is not JSON;
- ``"reject_json_schema"``: 400 if the request asks for ``response_format`` json_schema;
- ``"reject_response_format"``: 400 if the request has any ``response_format``.

``unsupported_formats`` rejects response_format types persistently (an endpoint that never
supports json_schema, say). Run standalone:
``python -m tests.support.fake_openai --port 0 --latency-ms 50 [--judge-json]``; the first
line on stdout is the base URL (ending in ``/v1``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import re
import signal
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]

CRITERIA = ("Relevance", "Faithfulness", "Completeness", "Clarity", "Conciseness")
RATINGS = ("Excellent", "Good", "Fair", "Bad", "Worse")

# The rubric verdict JSON that judges return; the judging package validates against it.
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdicts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "criterion": {"type": "string"},
                    "rating": {"type": "string", "enum": list(RATINGS)},
                    "rationale": {"type": "string"},
                },
                "required": ["criterion", "rating", "rationale"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["verdicts"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    timestamp: float
    behaviour: str


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def last_user_message(request_json: dict[str, Any]) -> str:
    for message in reversed(request_json.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _message_text(message.get("content"))
    return ""


def echo_responder(request_json: dict[str, Any]) -> str:
    """Deterministic answer that mentions the last user message (its last line, mostly)."""
    text = last_user_message(request_json).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # With the default prompt the question precedes a closing "Answer:" line.
    tail = [line for line in lines if line.rstrip(":").lower() != "answer"]
    focus = tail[-1] if tail else ""
    return f"Fake answer to: {focus[:300]}"


def is_judge_request(request_json: dict[str, Any]) -> bool:
    if request_json.get("response_format"):
        return True
    text = " ".join(_message_text(m.get("content")) for m in request_json.get("messages") or [] if isinstance(m, dict))
    return '"verdicts"' in text or ("criterion" in text.lower() and "rating" in text.lower())


def _criteria_from_request(request_json: dict[str, Any]) -> list[str]:
    """Criteria named in a strict schema's enum, else the five default criteria."""
    response_format = request_json.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema") or {}
    try:
        enum = schema["properties"]["verdicts"]["items"]["properties"]["criterion"]["enum"]
    except (KeyError, TypeError):
        enum = None
    if isinstance(enum, list) and enum:
        return [str(c) for c in enum]
    text = " ".join(_message_text(m.get("content")) for m in request_json.get("messages") or [] if isinstance(m, dict))
    named = [c for c in CRITERIA if c.lower() in text.lower()]
    return named or list(CRITERIA)


def verdict_responder(request_json: dict[str, Any]) -> str:
    """A valid rubric verdict JSON; ratings vary deterministically with the prompt.

    Ratings are drawn from Excellent/Good/Fair by a hash of (criterion, prompt), so the
    same prompt always gets the same verdict.
    """
    prompt = last_user_message(request_json)
    verdicts = []
    for criterion in _criteria_from_request(request_json):
        digest = hashlib.sha256(f"{criterion}\n{prompt}".encode()).digest()
        rating = RATINGS[digest[0] % 3]
        verdicts.append(
            {
                "criterion": criterion,
                "rating": rating,
                "rationale": f"Fake judge: the answer is rated {rating} on {criterion.lower()}.",
            }
        )
    return json.dumps({"verdicts": verdicts})


def judge_or_echo_responder(request_json: dict[str, Any]) -> str:
    """Verdict JSON for judge prompts, the echo answer for everything else."""
    if is_judge_request(request_json):
        return verdict_responder(request_json)
    return echo_responder(request_json)


def fake_embedding(text: str, dimension: int) -> list[float]:
    """A unit vector derived from a hash of ``text``: same text, same vector."""
    values: list[float] = []
    counter = 0
    while len(values) < dimension:
        block = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((b - 127.5) / 127.5 for b in block)
        counter += 1
    values = values[:dimension]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def count_tokens(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text))


class FakeOpenAIServer:
    """The server and its knobs. Thread-safe; start() binds 127.0.0.1 on a free port."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0.0,
        responder: Responder | None = None,
        embedding_dim: int = 64,
        default_timeout_s: float = 5.0,
        models: Iterable[str] = ("fake-model", "fake-judge", "fake-embedding"),
    ) -> None:
        self._lock = threading.Lock()
        self._script: deque[str] = deque()
        self._requests: list[RecordedRequest] = []
        self._responder: Responder = responder or echo_responder
        self._latency_ms = latency_ms
        self._stopping = threading.Event()
        self.embedding_dim = embedding_dim
        self.default_timeout_s = default_timeout_s
        self.unsupported_formats: set[str] = set()
        self.models = list(models)
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        # A short poll interval keeps stop() (and so fixture teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in "timeout"
        if self._thread is not None:  # shutdown() would wait forever for a loop never started
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- knobs -----------------------------------------------------------------------
    def script(self, behaviours: Iterable[str]) -> None:
        """Queue behaviours, one consumed per request; afterwards requests are "ok"."""
        with self._lock:
            self._script.extend(behaviours)

    def set_responder(self, fn: Responder) -> None:
        with self._lock:
            self._responder = fn

    def set_latency(self, ms: float) -> None:
        with self._lock:
            self._latency_ms = ms

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- internals ---------------------------------------------------------------------
    def _next(self) -> tuple[str, float, Responder]:
        with self._lock:
            behaviour = self._script.popleft() if self._script else "ok"
            return behaviour, self._latency_ms, self._responder

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


def _error_body(status: int, message: str, *, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error" if status < 500 else "server_error",
            "param": param,
            "code": str(status),
        }
    }


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # One segment per response: without this, Nagle and delayed ACKs add ~40 ms a call.
        disable_nagle_algorithm = True

        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return  # keep test output quiet

        def do_GET(self) -> None:  # noqa: N802
            behaviour, latency_ms, _ = server._next()
            server._record(
                RecordedRequest(
                    "GET", self.path, {k.lower(): v for k, v in self.headers.items()}, None, time.time(), behaviour
                )
            )
            server._wait(latency_ms / 1000)
            if self.path.rstrip("/") == "/v1/models":
                data = [{"id": m, "object": "model", "owned_by": "fake"} for m in server.models]
                self._send_json(200, {"object": "list", "data": data})
            else:
                self._send_json(404, _error_body(404, f"no route {self.path}"))

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            behaviour, latency_ms, responder = server._next()
            server._record(
                RecordedRequest(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time(), behaviour
                )
            )
            server._wait(latency_ms / 1000)
            if not isinstance(body, dict):
                self._send_json(400, _error_body(400, "request body is not a JSON object"))
                return
            if self._misbehave(behaviour, body):
                return
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/v1/chat/completions":
                self._chat(body, responder)
            elif path == "/v1/embeddings":
                self._embeddings(body)
            else:
                self._send_json(404, _error_body(404, f"no route {self.path}"))

        def _misbehave(self, behaviour: str, body: dict[str, Any]) -> bool:
            """Act out a scripted behaviour; True when the response has been sent."""
            name, _, arg = behaviour.partition(":")
            format_type = (body.get("response_format") or {}).get("type")
            if format_type and format_type in server.unsupported_formats:
                self._reject_format(format_type)
                return True
            if name == "ok":
                return False
            if name == "timeout":
                server._wait(float(arg) if arg else server.default_timeout_s)
                return False  # answer late; the client has usually given up
            if name == "malformed":
                self._send_raw(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
                return True
            if name == "reject_json_schema":
                if format_type == "json_schema":
                    self._reject_format(format_type)
                    return True
                return False
            if name == "reject_response_format":
                if format_type:
                    self._reject_format(format_type)
                    return True
                return False
            if name.isdigit():
                status = int(name)
                headers = {}
                if status == 429:
                    headers["Retry-After"] = arg or "0"
                message = "rate limited" if status == 429 else f"scripted error {status}"
                self._send_json(status, _error_body(status, message), headers=headers)
                return True
            raise ValueError(f"unknown fake behaviour {behaviour!r}")

        def _reject_format(self, format_type: str) -> None:
            self._send_json(
                400,
                _error_body(
                    400,
                    f"Invalid parameter: 'response_format' of type '{format_type}' is not supported with this model.",
                    param="response_format",
                ),
            )

        def _chat(self, body: dict[str, Any], responder: Responder) -> None:
            content = responder(body)
            prompt_text = " ".join(
                _message_text(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)
            )
            prompt_tokens = count_tokens(prompt_text)
            completion_tokens = count_tokens(content)
            self._send_json(
                200,
                {
                    "id": "chatcmpl-" + hashlib.sha1(prompt_text.encode()).hexdigest()[:12],
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake-model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                },
            )

        def _embeddings(self, body: dict[str, Any]) -> None:
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
            dimension = int(body.get("dimensions") or server.embedding_dim)
            use_base64 = body.get("encoding_format") == "base64"
            data = []
            for index, text in enumerate(texts):
                vector = fake_embedding(str(text), dimension)
                embedding: Any = vector
                if use_base64:
                    embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                data.append({"object": "embedding", "index": index, "embedding": embedding})
            tokens = sum(count_tokens(str(t)) for t in texts)
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": body.get("model", "fake-embedding"),
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )

        def _send_json(self, status: int, payload: Any, *, headers: dict[str, str] | None = None) -> None:
            self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

        def _send_raw(
            self,
            status: int,
            data: bytes,
            content_type: str,
            headers: dict[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout behaviour)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per request")
    parser.add_argument(
        "--judge-json",
        action="store_true",
        help="answer judge prompts with rubric verdict JSON (others get the echo answer)",
    )
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument(
        "--script",
        default="",
        help="comma-separated behaviours consumed by the first requests, e.g. 429:1,500",
    )
    args = parser.parse_args(argv)

    server = FakeOpenAIServer(
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        responder=judge_or_echo_responder if args.judge_json else echo_responder,
        embedding_dim=args.embedding_dim,
    )
    if args.script:
        server.script(s.strip() for s in args.script.split(",") if s.strip())

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    print(server.base_url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
