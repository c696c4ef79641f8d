"""Markdown and plain text: one block per paragraph, headings tracked for Markdown."""

from __future__ import annotations

import re

from corpora.parsers.base import KIND_ROW, Block, ParsedDocument, ParseError, row_text

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _tidy_markdown(text: str) -> str:
    # Link targets are noise for retrieval; the visible text carries the meaning.
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    return _STRONG.sub(r"\2", text)


def _table_cells(line: str) -> list[str]:
    line = line.strip()
    line = line.removeprefix("|")
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [_tidy_markdown(cell.strip().replace("\\|", "|")) for cell in cells]


def _pipe_table_rows(lines: list[str]) -> list[str] | None:
    """Rows of a Markdown pipe table as ``Header=value; …`` text, or None if not a table."""
    if len(lines) < 3 or "|" not in lines[0] or not _TABLE_RULE.match(lines[1]):
        return None
    header = _table_cells(lines[0])
    rows = [row_text(header=header, cells=_table_cells(line)) for line in lines[2:]]
    return [row for row in rows if row]


def parse_markdown(*, text: str, fallback_title: str = "") -> ParsedDocument:
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    paragraph: list[str] = []
    title = ""
    in_fence = ""
    tables = 0

    def flush() -> None:
        nonlocal tables
        lines = [line for line in paragraph if line.strip()]
        body = "\n".join(paragraph).strip()
        paragraph.clear()
        heading_path = [name for _, name in headings]
        table_rows = _pipe_table_rows(lines)
        if table_rows is not None:
            tables += 1
            for number, row in enumerate(table_rows, start=1):
                blocks.append(
                    Block(
                        text=row,
                        locator={"table": tables, "row": number},
                        heading_path=heading_path,
                        kind=KIND_ROW,
                    )
                )
            return
        if body:
            blocks.append(Block(text=_tidy_markdown(body), heading_path=heading_path))

    def open_heading(level: int, name: str) -> None:
        nonlocal title
        flush()
        while headings and headings[-1][0] >= level:
            headings.pop()
        headings.append((level, name))
        if not title and level == 1:
            title = name

    for line in text.splitlines():
        fence = _FENCE.match(line)
        if in_fence:
            paragraph.append(line)
            if fence and fence.group(1).startswith(in_fence):
                in_fence = ""
                flush()
            continue
        if fence:
            flush()
            in_fence = fence.group(1)
            paragraph.append(line)
            continue
        heading = _ATX_HEADING.match(line)
        if heading:
            open_heading(len(heading.group(1)), _tidy_markdown(heading.group(2).strip()))
            continue
        underline = _SETEXT_UNDERLINE.match(line)
        if underline and len(paragraph) == 1 and paragraph[0].strip():
            name = _tidy_markdown(paragraph.pop().strip())
            open_heading(1 if underline.group(1)[0] == "=" else 2, name)
            continue
        if not line.strip():
            flush()
            continue
        paragraph.append(line.rstrip())
    flush()

    if not blocks:
        raise ParseError("This Markdown file has no text to index.")
    return ParsedDocument(
        title=title or _first_line(blocks) or fallback_title,
        source_type="markdown",
        blocks=blocks,
    )


def parse_plain_text(*, text: str, fallback_title: str = "") -> ParsedDocument:
    blocks = [
        Block(text=paragraph.strip())
        for paragraph in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))
        if paragraph.strip()
    ]
    if not blocks:
        raise ParseError("This text file is empty or contains only whitespace.")
    return ParsedDocument(title=_first_line(blocks) or fallback_title, source_type="text", blocks=blocks)


def _first_line(blocks: list[Block]) -> str:
    line = blocks[0].text.strip().splitlines()[0].strip() if blocks else ""
    return line[:200]
