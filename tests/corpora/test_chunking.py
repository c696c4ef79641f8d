"""Chunking: sizes, overlap, page and section boundaries, row blocks, tags and keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpora.chunking import chunk_document, chunk_key, source_tag, split_sentences
from corpora.parsers import Block, ParsedDocument

SENTENCES = [f"Sentence number {index} talks about adapter rank {index * 2} in detail." for index in range(60)]


def _doc(source_type: str, blocks: list[Block]) -> ParsedDocument:
    return ParsedDocument(title="t", source_type=source_type, blocks=blocks)


def test_chunks_respect_max_chars_and_cover_every_sentence() -> None:
    parsed = _doc("markdown", [Block(text=" ".join(SENTENCES[:30])), Block(text=" ".join(SENTENCES[30:]))])

    chunks = chunk_document(parsed=parsed, name="notes.md", max_chars=400, overlap_chars=100)

    assert len(chunks) > 5
    assert all(len(chunk.text) <= 400 for chunk in chunks)
    joined = "\n".join(chunk.text for chunk in chunks)
    for sentence in SENTENCES:
        assert sentence in joined
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))


def test_consecutive_chunks_overlap_by_whole_sentences() -> None:
    parsed = _doc("text", [Block(text=" ".join(SENTENCES))])

    chunks = chunk_document(parsed=parsed, name="notes.txt", max_chars=400, overlap_chars=150)

    for previous, current in zip(chunks, chunks[1:], strict=False):
        first_sentence = split_sentences(current.text)[0]
        assert first_sentence in previous.text  # the new chunk starts inside the previous one
        assert previous.text.endswith(first_sentence) or first_sentence in previous.text[-150:]
        overlap = previous.text[previous.text.index(first_sentence) :]
        assert 0 < len(overlap) <= 150


def test_zero_overlap_gives_disjoint_chunks() -> None:
    parsed = _doc("text", [Block(text=" ".join(SENTENCES))])

    chunks = chunk_document(parsed=parsed, name="n.txt", max_chars=300, overlap_chars=0)

    pieces = [sentence for chunk in chunks for sentence in split_sentences(chunk.text)]
    assert pieces == SENTENCES


def test_chunks_never_cross_a_page() -> None:
    parsed = _doc(
        "pdf",
        [
            Block(text="Short paragraph on page one.", locator={"page": 1}),
            Block(text="Another short one, page one.", locator={"page": 1}),
            Block(text="Page two starts here.", locator={"page": 2}),
        ],
    )

    chunks = chunk_document(parsed=parsed, name="lora.pdf")

    assert [(chunk.text, chunk.source_tag) for chunk in chunks] == [
        ("Short paragraph on page one.\n\nAnother short one, page one.", "[PDF: lora.pdf p.1]"),
        ("Page two starts here.", "[PDF: lora.pdf p.2]"),
    ]
    assert chunks[1].locator == {"page": 2}


def test_chunks_do_not_merge_different_sections() -> None:
    parsed = _doc(
        "markdown",
        [
            Block(text="About LoRA.", heading_path=["Methods", "LoRA"]),
            Block(text="About BitFit.", heading_path=["Methods", "BitFit"]),
        ],
    )

    chunks = chunk_document(parsed=parsed, name="notes.md")

    assert [(chunk.text, chunk.heading_path) for chunk in chunks] == [
        ("About LoRA.", ["Methods", "LoRA"]),
        ("About BitFit.", ["Methods", "BitFit"]),
    ]


def test_row_blocks_are_one_chunk_each_never_split_or_merged() -> None:
    long_row = "; ".join(f"Column {index}=value {index}" for index in range(80))
    assert len(long_row) > 1000
    parsed = _doc(
        "xlsx",
        [
            Block(text="System=A; Dev F1=90.1", locator={"sheet": "Sheet1", "row": 2}, kind="row"),
            Block(text="System=B; Dev F1=91.8", locator={"sheet": "Sheet1", "row": 3}, kind="row"),
            Block(text=long_row, locator={"sheet": "Sheet1", "row": 4}, kind="row"),
        ],
    )

    chunks = chunk_document(parsed=parsed, name="results.xlsx")

    assert [chunk.text for chunk in chunks] == ["System=A; Dev F1=90.1", "System=B; Dev F1=91.8", long_row]
    assert [chunk.source_tag for chunk in chunks] == [
        "[Sheet: results.xlsx/Sheet1] Row 2:",
        "[Sheet: results.xlsx/Sheet1] Row 3:",
        "[Sheet: results.xlsx/Sheet1] Row 4:",
    ]


def test_row_between_paragraphs_splits_the_text_around_it() -> None:
    parsed = _doc(
        "pdf",
        [
            Block(text="Before the table.", locator={"page": 4}),
            Block(text="Method=LoRA; Params=4.7M", locator={"page": 4, "table": 1, "row": 1}, kind="row"),
            Block(text="After the table.", locator={"page": 4}),
        ],
    )

    chunks = chunk_document(parsed=parsed, name="lora.pdf")

    assert [chunk.text for chunk in chunks] == ["Before the table.", "Method=LoRA; Params=4.7M", "After the table."]
    assert {chunk.source_tag for chunk in chunks} == {"[PDF: lora.pdf p.4]"}


@pytest.mark.parametrize(
    ("source_type", "locator", "host", "expected"),
    [
        ("pdf", {"page": 4}, None, "[PDF: lora.pdf p.4]"),
        ("xlsx", {"sheet": "Sheet1", "row": 25}, None, "[Sheet: lora.pdf/Sheet1] Row 25:"),
        ("csv", {"sheet": "lora", "row": 7}, None, "[Sheet: lora.pdf/lora] Row 7:"),
        ("web", {}, "example.org", "[Web: example.org]"),
        ("markdown", {}, None, "[Doc: lora.pdf]"),
        ("html", {}, None, "[Doc: lora.pdf]"),
        ("text", {}, None, "[Doc: lora.pdf]"),
    ],
)
def test_source_tags(source_type: str, locator: dict, host: str | None, expected: str) -> None:
    assert source_tag(source_type=source_type, name="lora.pdf", host=host, locator=locator) == expected


def test_web_tag_uses_host_of_url_name_when_host_missing() -> None:
    assert source_tag(source_type="web", name="https://example.org/post/1") == "[Web: example.org]"


def test_sentence_split_keeps_abbreviations_and_decimals() -> None:
    text = "We follow Hu et al. (2021) closely. Accuracy was 91.2 on SST-2, e.g. above BitFit. See Fig. 3 for details!"

    assert split_sentences(text) == [
        "We follow Hu et al. (2021) closely.",
        "Accuracy was 91.2 on SST-2, e.g. above BitFit.",
        "See Fig. 3 for details!",
    ]


def test_overlong_sentence_and_word_are_hard_split() -> None:
    url = "https://example.org/" + "x" * 250
    text = " ".join(["word"] * 200) + " " + url
    parsed = _doc("text", [Block(text=text)])

    chunks = chunk_document(parsed=parsed, name="n.txt", max_chars=120, overlap_chars=0)

    assert all(len(chunk.text) <= 120 for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks if "word" not in chunk.text).startswith("https://example.org/")


def test_chunk_key_is_deterministic_and_distinguishes_inputs() -> None:
    key = chunk_key(document_sha256="a" * 64, ordinal=3, text="hello")

    assert key == chunk_key(document_sha256="a" * 64, ordinal=3, text="hello")
    assert len(key) == 64 and int(key, 16) >= 0
    assert key != chunk_key(document_sha256="b" * 64, ordinal=3, text="hello")
    assert key != chunk_key(document_sha256="a" * 64, ordinal=4, text="hello")
    assert key != chunk_key(document_sha256="a" * 64, ordinal=3, text="hello!")


def test_blank_blocks_make_no_chunks() -> None:
    parsed = _doc("text", [Block(text="   "), Block(text="Real text.")])

    chunks = chunk_document(parsed=parsed, name="n.txt")

    assert [(chunk.ordinal, chunk.text) for chunk in chunks] == [(0, "Real text.")]


def test_sample_paper_chunks_fit_the_embedding_window(tmp_path: Path) -> None:
    import subprocess
    import sys

    from corpora.parsers import parse_file

    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, str(root / "scripts" / "make_sample_corpus.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    parsed = parse_file(path=tmp_path / "sat_paper.pdf", filename="sat_paper.pdf")

    chunks = chunk_document(parsed=parsed, name="sat_paper.pdf")

    assert all(len(chunk.text) <= 1000 for chunk in chunks)
    assert all(chunk.source_tag == f"[PDF: sat_paper.pdf p.{chunk.locator['page']}]" for chunk in chunks)
    assert any("41% less GPU memory" in chunk.text for chunk in chunks)
    rows = [chunk for chunk in chunks if "row" in chunk.locator]
    assert len(rows) == 5
    assert all(row.text.startswith("(Table 1: GLUE dev results") and "; Method=" not in row.text for row in rows)
    tables = [chunk for chunk in chunks if "table" in chunk.locator and "row" not in chunk.locator]
    assert len(tables) == 1 and tables[0].text.startswith("Table 1: GLUE dev results")  # the whole table
