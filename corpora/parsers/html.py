"""HTML and fetched web pages: main content only (no navigation, scripts or footers).

trafilatura finds the main content and renders it as Markdown, which the Markdown
parser turns into blocks with heading paths and table rows. Pages trafilatura cannot
handle (very short ones, odd layouts) fall back to BeautifulSoup with the page chrome
removed.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import trafilatura
from bs4 import BeautifulSoup, Tag

from corpora.parsers.base import ParsedDocument, ParseError
from corpora.parsers.text import parse_markdown

logger = logging.getLogger(__name__)

_CHROME_TAGS = [
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "svg",
    "button",
]
_BLOCK_TAGS = [
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "li",
    "pre",
    "blockquote",
    "table",
]


def parse_html(*, html: str | bytes, url: str | None = None) -> ParsedDocument:
    source_type = "web" if url else "html"
    if not html.strip():
        raise ParseError("This HTML page is empty.")
    soup = BeautifulSoup(html, "lxml")
    page_title = _page_title(soup)

    markdown = None
    try:
        markdown = trafilatura.extract(
            html,
            url=url,
            output_format="markdown",
            include_formatting=True,
            include_tables=True,
            include_comments=False,
            include_links=False,
            include_images=False,
            favor_recall=True,
        )
    except Exception as exc:  # noqa: BLE001 - trafilatura is best effort; BeautifulSoup follows
        logger.info("trafilatura failed on %s: %r", url or "html", exc)
    if not markdown or not markdown.strip():
        markdown = _soup_markdown(soup)
    if not markdown.strip():
        raise ParseError("This page has no readable text (it may need JavaScript to render).")

    try:
        parsed = parse_markdown(text=markdown)
    except ParseError as exc:
        raise ParseError("This page has no readable text (it may need JavaScript to render).") from exc
    title = page_title or parsed.title or (urlsplit(url).hostname or "" if url else "")
    return ParsedDocument(title=title, source_type=source_type, blocks=parsed.blocks)


def _page_title(soup: BeautifulSoup) -> str:
    for selector in ('meta[property="og:title"]', 'meta[name="twitter:title"]'):
        tag = soup.select_one(selector)
        if tag and str(tag.get("content") or "").strip():
            return " ".join(str(tag["content"]).split())
    if soup.title and soup.title.get_text(strip=True):
        return " ".join(soup.title.get_text(" ", strip=True).split())
    heading = soup.find("h1")
    return " ".join(heading.get_text(" ", strip=True).split()) if heading else ""


def _soup_markdown(soup: BeautifulSoup) -> str:
    """Render the page's block elements as Markdown, chrome removed."""
    for tag in soup.find_all(_CHROME_TAGS):
        tag.decompose()
    root = soup.body or soup
    parts: list[str] = []
    for element in root.find_all(_BLOCK_TAGS):
        if _inside(element, _BLOCK_TAGS):
            continue  # its text is already in the enclosing block
        name = element.name or ""
        if name == "table":
            parts.append(_table_markdown(element))
            continue
        text = " ".join(element.get_text(" ", strip=True).split())
        if not text:
            continue
        if name.startswith("h") and name[1:].isdigit():
            parts.append(f"{'#' * int(name[1:])} {text}")
        elif name == "li":
            parts.append(f"- {text}")
        else:
            parts.append(text)
    if not parts:
        text = root.get_text("\n", strip=True)
        return text
    return "\n\n".join(part for part in parts if part)


def _inside(element: Tag, names: list[str]) -> bool:
    return any(parent.name in names for parent in element.parents)


def _table_markdown(table: Tag) -> str:
    rows = []
    for row in table.find_all("tr"):
        cells = [
            " ".join(cell.get_text(" ", strip=True).split()).replace("|", "\\|") for cell in row.find_all(["th", "td"])
        ]
        if any(cells):
            rows.append(cells)
    if not rows:
        return ""
    if len(rows) == 1:
        return " ".join(rows[0])
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows[1:]]
    return "\n".join(lines)
