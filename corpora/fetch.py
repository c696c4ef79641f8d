"""Fetch one web page for ingestion without becoming a proxy into the private network.

Every hop (the URL and each redirect, at most ``MAX_REDIRECTS``) is resolved here, and
refused when any address it resolves to is loopback, private, link-local, reserved or
otherwise not globally routable, unless ``allow_private`` is set. The connection then
goes to the checked address itself (the Host header and TLS server name stay the
original host name), so a DNS answer that changes between check and connect cannot
redirect the request.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import httpx

MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = 15.0
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
USER_AGENT = "Assay/1.0 (+corpus ingestion)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """The page could not be fetched; ``str(error)`` is shown to the user as is."""


@dataclass
class FetchedPage:
    url: str
    final_url: str
    content_type: str
    body: bytes


def fetch_url(
    *,
    url: str,
    allow_private: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FetchedPage:
    current = url.strip()
    # trust_env=False: an environment proxy would connect on our behalf and undo the
    # address check.
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            parts = _checked_parts(current)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = _checked_address(host=host, port=port, allow_private=allow_private)
            request = client.build_request(
                "GET",
                _pinned_url(parts, address),
                headers={
                    "Host": _host_header(parts),
                    "User-Agent": USER_AGENT,
                    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
                },
                extensions={"sni_hostname": host} if parts.scheme == "https" else {},
            )
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise FetchError(f"Could not reach {host}: no answer within {timeout:g} seconds") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"Could not reach {host}: {_reason(exc)}") from exc
            try:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    if not location:
                        raise FetchError(f"{host} sent a redirect without a target")
                    current = urljoin(current, location)
                    continue
                if response.status_code >= 400:
                    raise FetchError(
                        f"{host} answered {response.status_code} {response.reason_phrase or ''}".rstrip()
                        + f" for {current}"
                    )
                body = _read_capped(response, max_bytes=max_bytes, host=host)
                return FetchedPage(
                    url=url,
                    final_url=current,
                    content_type=response.headers.get("content-type", ""),
                    body=body,
                )
            finally:
                response.close()
    raise FetchError(f"Too many redirects (more than {MAX_REDIRECTS}) starting at {url}")


def _checked_parts(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise FetchError(f"This is not a valid URL: {url}") from exc
    if parts.scheme not in ("http", "https"):
        shown = parts.scheme or "no scheme"
        raise FetchError(f"Only http and https URLs can be fetched (got {shown}): {url}")
    if not parts.hostname:
        raise FetchError(f"This URL has no host name: {url}")
    return parts


def _checked_address(*, host: str, port: int, allow_private: bool) -> IPAddress:
    addresses = _resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = _refusal(host, address)
            if reason:
                shown = host if host == str(address) else f"{host} ({address})"
                raise FetchError(f"Refusing to fetch {shown}: {reason}")
    return addresses[0]


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"Could not reach {host}: name does not resolve") from exc
    except UnicodeError as exc:
        raise FetchError(f"Could not reach {host}: invalid host name") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        # Strip an IPv6 zone ("fe80::1%eth0"); it is link-local and refused anyway.
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(f"Could not reach {host}: name does not resolve")
    return addresses


def _refusal(host: str, address: IPAddress) -> str | None:
    """Why this address must not be fetched, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    # Link-local first: Python also counts it as private, but the cloud metadata
    # endpoint (169.254.169.254) deserves its precise name.
    if address.is_link_local:
        return "link-local address"
    if address.is_loopback or address.is_private or address.is_unspecified:
        return "private or loopback address"
    if address.is_multicast or address.is_reserved or not address.is_global:
        return "reserved or non-public address"
    return None


def _pinned_url(parts: SplitResult, address: IPAddress) -> str:
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    path = parts.path or "/"
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


def _host_header(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _read_capped(response: httpx.Response, *, max_bytes: int, host: str) -> bytes:
    limit = f"{max_bytes / 1024 / 1024:.3g} MB"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"The page at {host} is larger than the {limit} limit")
    chunks: list[bytes] = []
    size = 0
    try:
        # iter_bytes decompresses, so the cap also bounds a gzip bomb.
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"The page at {host} is larger than the {limit} limit")
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise FetchError(f"Could not reach {host}: the download timed out") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"Could not reach {host}: {_reason(exc)}") from exc
    return b"".join(chunks)


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "certificate" in text or "ssl" in text:
        return "its TLS certificate could not be verified"
    if "reset" in text:
        return "the connection was reset"
    return str(exc) or type(exc).__name__
