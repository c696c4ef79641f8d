"""URL fetching guards and the SearxNG backend, against real local HTTP servers."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from corpora import fetch
from corpora.fetch import FetchError, fetch_url
from corpora.websearch import SearxngBackend, WebResult, WebSearchError

PAGE = b"<html><head><title>Hello</title></head><body><p>Local page body.</p></body></html>"
BIG = 2 * 1024 * 1024


@dataclass
class Server:
    base: str
    port: int
    hits: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        self.server.hits.append(parts.path)  # type: ignore[attr-defined]
        port = self.server.server_address[1]
        if parts.path == "/page":
            self._send(200, PAGE)
        elif parts.path == "/redirect":
            self._redirect("/page")
        elif parts.path == "/redirect-to-loopback":
            self._redirect(f"http://127.0.0.1:{port}/page")
        elif parts.path == "/loop":
            self._redirect("/loop")
        elif parts.path == "/big":
            self._send(200, b"x" * BIG)
        elif parts.path == "/big-stream":
            # No Content-Length: the body ends when the connection closes.
            self.protocol_version = "HTTP/1.0"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(BIG // 65536):
                self.wfile.write(b"y" * 65536)
        elif parts.path == "/missing":
            self._send(404, b"not here")
        elif parts.path == "/search":
            query = parse_qs(parts.query)
            if query.get("format") != ["json"]:
                self._send(403, b"Forbidden")
                return
            q = query.get("q", [""])[0]
            results = [
                {
                    "title": f"Result {index} for {q}",
                    "url": f"https://site{index}.example.org/a",
                    "content": f"snippet {index}",
                }
                for index in range(5)
            ]
            results.insert(1, {"title": "no url"})
            results.insert(2, dict(results[0]))  # a duplicate URL
            self._send(200, json.dumps({"query": q, "results": results}).encode(), "application/json")
        elif parts.path == "/forbidden/search":
            self._send(403, b"Forbidden")
        elif parts.path == "/html/search":
            self._send(200, b"<html>not json</html>")
        else:
            self._send(404, b"unknown")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # The client hanging up mid-body is what the size-cap tests provoke.
        return


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    httpd.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = httpd.server_address[1]
    try:
        yield Server(base=f"http://127.0.0.1:{port}", port=port, hits=httpd.hits)  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- address policy ----------------------------------------------------------------


def test_loopback_is_refused_without_allow_private(server: Server) -> None:
    with pytest.raises(FetchError, match=r"^Refusing to fetch 127\.0\.0\.1: private or loopback address$"):
        fetch_url(url=f"{server.base}/page")

    assert server.hits == []  # refused before any connection


def test_localhost_name_is_refused_with_its_address(server: Server) -> None:
    with pytest.raises(FetchError, match=r"Refusing to fetch localhost \(.*\): private or loopback"):
        fetch_url(url=f"http://localhost:{server.port}/page")

    assert server.hits == []


def test_loopback_is_fetched_with_allow_private(server: Server) -> None:
    page = fetch_url(url=f"{server.base}/page", allow_private=True)

    assert page.body == PAGE
    assert page.content_type.startswith("text/html")
    assert page.url == page.final_url == f"{server.base}/page"


def test_redirects_are_followed_and_reported(server: Server) -> None:
    page = fetch_url(url=f"{server.base}/redirect", allow_private=True)

    assert page.body == PAGE
    assert page.url == f"{server.base}/redirect"
    assert page.final_url == f"{server.base}/page"
    assert server.hits == ["/redirect", "/page"]


def test_redirect_to_loopback_is_refused(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend public.example.org is a public host that happens to be served locally;
    # its redirect to 127.0.0.1 must still be checked and refused.
    real_resolve, real_refusal = fetch._resolve, fetch._refusal
    monkeypatch.setattr(
        fetch,
        "_resolve",
        lambda host, port: (
            [ipaddress.ip_address("127.0.0.1")] if host == "public.example.org" else real_resolve(host, port)
        ),
    )
    monkeypatch.setattr(
        fetch, "_refusal", lambda host, address: None if host == "public.example.org" else real_refusal(host, address)
    )

    with pytest.raises(FetchError, match=r"Refusing to fetch 127\.0\.0\.1: private or loopback address"):
        fetch_url(url=f"http://public.example.org:{server.port}/redirect-to-loopback")

    assert server.hits == ["/redirect-to-loopback"]  # /page was never requested


def test_redirect_loop_stops_after_five_hops(server: Server) -> None:
    with pytest.raises(FetchError, match="Too many redirects"):
        fetch_url(url=f"{server.base}/loop", allow_private=True)

    assert len(server.hits) == 6  # the first request and five redirects


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "private or loopback"),
        ("192.168.0.10", "private or loopback"),
        ("172.16.5.4", "private or loopback"),
        ("::1", "private or loopback"),
        ("::ffff:127.0.0.1", "private or loopback"),
        ("0.0.0.0", "private or loopback"),
        ("169.254.169.254", "link-local"),  # cloud metadata endpoint
        ("fe80::1", "link-local"),
        ("100.64.0.1", "non-public"),
        ("224.0.0.1", "non-public"),
        ("240.0.0.1", "private or loopback"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert reason in (fetch._refusal("host", ipaddress.ip_address(address)) or "")


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert fetch._refusal("host", ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("url", ["ftp://example.org/file", "file:///etc/passwd", "javascript:alert(1)", "example.org"])
def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(FetchError, match="Only http and https"):
        fetch_url(url=url)


# --- failures ------------------------------------------------------------------------


def test_unresolvable_host_is_reported() -> None:
    with pytest.raises(FetchError, match=r"^Could not reach example\.invalid: name does not resolve$"):
        fetch_url(url="http://example.invalid/page")


def test_closed_port_is_reported() -> None:
    port = _closed_port()

    with pytest.raises(FetchError, match=r"Could not reach 127\.0\.0\.1: connection refused"):
        fetch_url(url=f"http://127.0.0.1:{port}/", allow_private=True, timeout=3)


def test_http_error_status_is_reported(server: Server) -> None:
    with pytest.raises(FetchError, match="answered 404"):
        fetch_url(url=f"{server.base}/missing", allow_private=True)


def test_declared_size_over_cap_is_refused(server: Server) -> None:
    with pytest.raises(FetchError, match="larger than the 1 MB limit"):
        fetch_url(url=f"{server.base}/big", allow_private=True, max_bytes=1024 * 1024)


def test_streamed_size_over_cap_is_refused(server: Server) -> None:
    with pytest.raises(FetchError, match="larger than the 1 MB limit"):
        fetch_url(url=f"{server.base}/big-stream", allow_private=True, max_bytes=1024 * 1024)


def test_body_under_cap_is_complete(server: Server) -> None:
    page = fetch_url(url=f"{server.base}/big-stream", allow_private=True, max_bytes=4 * 1024 * 1024)

    assert len(page.body) == BIG
    assert set(page.body) == {ord("y")}


# --- SearxNG -------------------------------------------------------------------------


def test_searxng_results_are_parsed_deduplicated_and_limited(server: Server) -> None:
    backend = SearxngBackend(base_url=f"{server.base}/", timeout=5)

    results = backend.search(query="sparse adapters", k=3)

    assert results == [
        WebResult(title="Result 0 for sparse adapters", url="https://site0.example.org/a", snippet="snippet 0"),
        WebResult(title="Result 1 for sparse adapters", url="https://site1.example.org/a", snippet="snippet 1"),
        WebResult(title="Result 2 for sparse adapters", url="https://site2.example.org/a", snippet="snippet 2"),
    ]
    assert results[0].source_tag == "[Web: site0.example.org]"
    assert server.hits == ["/search"]


def test_searxng_refusing_json_explains_the_setting(server: Server) -> None:
    backend = SearxngBackend(base_url=f"{server.base}/forbidden", timeout=5)

    with pytest.raises(WebSearchError, match="search.formats"):
        backend.search(query="x", k=3)


def test_searxng_non_json_answer_is_an_error(server: Server) -> None:
    backend = SearxngBackend(base_url=f"{server.base}/html", timeout=5)

    with pytest.raises(WebSearchError, match="did not return JSON"):
        backend.search(query="x", k=3)


def test_searxng_unreachable_is_an_error() -> None:
    backend = SearxngBackend(base_url=f"http://127.0.0.1:{_closed_port()}", timeout=3)

    with pytest.raises(WebSearchError, match="Could not reach web search"):
        backend.search(query="x", k=3)
