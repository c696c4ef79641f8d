"""Parsers: every supported format and every kind of bad input, built at test time."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import openpyxl
import pypdf
import pytest
import xlsxwriter
from fpdf import FPDF

from corpora.parsers import ParseError, parse_file, parse_html
from corpora.parsers import xlsx as xlsx_parser
from corpora.parsers.base import clean_cell

ROOT = Path(__file__).resolve().parents[2]

LOREM_1 = (
    "Low-rank adaptation freezes the pretrained weights and trains two small matrices per "
    "layer. It was proposed to cut the memory needed for fine-tuning large models."
)
LOREM_2 = (
    "In our experiments the rank was set to eight. Larger ranks gave no further gain on "
    "the benchmarks we tried, while training time grew slowly with the rank."
)
LOREM_3 = "The second page discusses limitations. Sparse kernels are needed for speedups."


def _pdf(*, title: str | None = None) -> FPDF:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=11)
    return pdf


def _para(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)


def write_text_pdf(path: Path, *, title: str | None = "LoRA notes") -> Path:
    pdf = _pdf(title=title)
    pdf.add_page()
    _para(pdf, LOREM_1)
    _para(pdf, LOREM_2)
    pdf.add_page()
    _para(pdf, LOREM_3)
    pdf.output(str(path))
    return path


# --- PDF ---------------------------------------------------------------------------


def test_pdf_paragraphs_are_blocks_located_by_page(tmp_path: Path) -> None:
    parsed = parse_file(path=write_text_pdf(tmp_path / "lora.pdf"), filename="lora.pdf")

    assert parsed.source_type == "pdf"
    assert parsed.title == "LoRA notes"
    texts = [(block.locator, block.text) for block in parsed.blocks]
    assert texts == [({"page": 1}, LOREM_1), ({"page": 1}, LOREM_2), ({"page": 2}, LOREM_3)]


def test_pdf_title_falls_back_to_first_line_without_metadata(tmp_path: Path) -> None:
    parsed = parse_file(path=write_text_pdf(tmp_path / "x.pdf", title=None), filename="x.pdf")

    assert parsed.title.startswith("Low-rank adaptation freezes")


def test_pdf_table_rows_keep_their_header(tmp_path: Path) -> None:
    pdf = _pdf()
    pdf.add_page()
    _para(pdf, "Results of the comparison are shown below.")
    with pdf.table(borders_layout="ALL") as table:
        for cells in [
            ["Method", "Params", "Accuracy"],
            ["LoRA", "4.7M", "91.2"],
            ["Full FT", "355M", "92.0"],
        ]:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    path = tmp_path / "table.pdf"
    pdf.output(str(path))

    parsed = parse_file(path=path, filename="table.pdf")

    rows = [block for block in parsed.blocks if block.kind == "row"]
    assert [row.text for row in rows] == [
        "Method=LoRA; Params=4.7M; Accuracy=91.2",
        "Method=Full FT; Params=355M; Accuracy=92.0",
    ]
    assert rows[0].locator["page"] == 1
    # The table's cells do not leak into the prose blocks as well.
    prose = " ".join(block.text for block in parsed.blocks if block.kind == "text")
    assert "4.7M" not in prose


def test_encrypted_pdf_is_refused_with_advice(tmp_path: Path) -> None:
    plain = write_text_pdf(tmp_path / "plain.pdf")
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(plain))
    writer.encrypt(user_password="secret", owner_password="owner")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)

    with pytest.raises(ParseError, match="encrypted; remove the password"):
        parse_file(path=path, filename="locked.pdf")


def test_corrupt_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"\x00\x13garbage that is not a PDF at all" * 50)

    with pytest.raises(ParseError, match="could not be read"):
        parse_file(path=path, filename="broken.pdf")


def test_truncated_pdf_is_refused(tmp_path: Path) -> None:
    data = write_text_pdf(tmp_path / "full.pdf").read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) // 3])

    with pytest.raises(ParseError):
        parse_file(path=path, filename="cut.pdf")


def test_scanned_pdf_without_text_is_refused(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 120, 80, style="F")  # a picture of a page, no text layer
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))

    with pytest.raises(ParseError, match="no extractable text"):
        parse_file(path=path, filename="scan.pdf")


# --- XLSX --------------------------------------------------------------------------


def write_results_xlsx(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Results"
    sheet["A1"] = "Table 3: SQuAD results"
    sheet.merge_cells("A1:E1")
    sheet.append([])
    sheet.append(["System", "Params", None, "Dev EM", "Dev F1"])  # row 3, column C empty
    sheet.append(["BERT LARGE (Ensemble)", 1005, None, 85.8, 91.8])  # row 4
    sheet.append([None, None, None, None, None])  # row 5: empty, dropped
    sheet.append(["Noisy", 3.0, None, 0.1 + 0.2, float("nan")])  # row 6
    sheet.append(["Missing", None, None, "NaN", "-"])  # row 7: "-" is a placeholder, NaN is nothing
    other = workbook.create_sheet("Notes")
    other.append(["Key", "Value"])
    other.append(["seed", 13])
    workbook.save(path)
    return path


def test_xlsx_rows_read_with_header_below_title_row(tmp_path: Path) -> None:
    parsed = parse_file(path=write_results_xlsx(tmp_path / "r.xlsx"), filename="r.xlsx")

    assert parsed.source_type == "xlsx"
    assert parsed.title == "r"  # the file's name: a cell is a table's title, not the document's
    context = "(Table 3: SQuAD results): "
    assert [(block.locator, block.text) for block in parsed.blocks if block.kind == "row"] == [
        (
            {"sheet": "Results", "row": 4, "table": 1},
            context + "System=BERT LARGE (Ensemble); Params=1005; Dev EM=85.8; Dev F1=91.8",
        ),
        ({"sheet": "Results", "row": 6, "table": 1}, context + "System=Noisy; Params=3; Dev EM=0.3"),
        ({"sheet": "Results", "row": 7, "table": 1}, context + "System=Missing; Dev F1=-"),
        ({"sheet": "Notes", "row": 2, "table": 1}, "Key=seed; Value=13"),
    ]
    assert [block.kind for block in parsed.blocks].count("table") == 2  # one whole-table block per table


def test_cell_values_print_naturally() -> None:
    assert clean_cell(85.80000000001) == "85.8"
    assert clean_cell(91.0) == "91"
    assert clean_cell(None) == ""
    assert clean_cell(float("nan")) == ""
    assert clean_cell(" None ") == ""
    assert clean_cell(88, "0.0") == "88.0"
    assert clean_cell(0.256, "0.0%") == "25.6%"
    assert clean_cell("—") == "—"


def test_xlsx_zip_bomb_is_refused_before_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<row>" + b"0" * (30 * 1024 * 1024))
    assert path.stat().st_size < 200 * 1024  # tiny on disk, 30 MB inflated

    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl must not see a zip bomb")

    monkeypatch.setattr(xlsx_parser.openpyxl, "load_workbook", must_not_open)

    with pytest.raises(ParseError, match="zip bomb"):
        parse_file(path=path, filename="bomb.xlsx")


def test_xlsx_over_uncompressed_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_results_xlsx(tmp_path / "r.xlsx")
    monkeypatch.setattr(xlsx_parser, "MAX_UNCOMPRESSED_BYTES", 1024)

    with pytest.raises(ParseError, match=r"expand to [\d.]+ MB when opened \(the limit is 0.000977 MB\)"):
        parse_file(path=path, filename="r.xlsx")


def test_corrupt_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip archive" * 20)

    with pytest.raises(ParseError, match="damaged"):
        parse_file(path=path, filename="broken.xlsx")


def test_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")

    with pytest.raises(ParseError, match="could not be opened"):
        parse_file(path=path, filename="other.xlsx")


def test_empty_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)

    with pytest.raises(ParseError, match="no data rows"):
        parse_file(path=path, filename="empty.xlsx")


# --- CSV ---------------------------------------------------------------------------


def test_csv_with_bom_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_bytes("System;Dev EM;Dev F1\nBERT;84.1;90.9\n;;\nXLNet;89.0;94.5\n".encode("utf-8-sig"))

    parsed = parse_file(path=path, filename="results.csv")

    assert parsed.source_type == "csv"
    assert [(block.locator, block.text) for block in parsed.blocks if block.kind == "row"] == [
        ({"sheet": "results", "row": 2, "table": 1}, "System=BERT; Dev EM=84.1; Dev F1=90.9"),
        ({"sheet": "results", "row": 4, "table": 1}, "System=XLNet; Dev EM=89.0; Dev F1=94.5"),
    ]


def test_csv_in_latin1_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "authors.csv"
    path.write_bytes("Author,City\nMüller,Zürich\n".encode("latin-1"))

    parsed = parse_file(path=path, filename="authors.csv")

    assert parsed.blocks[0].text == "Author=Müller; City=Zürich"


def test_tsv_uses_tabs(tmp_path: Path) -> None:
    path = tmp_path / "scores.tsv"
    path.write_text("Model\tScore, best\nA\t1,5\n", encoding="utf-8")

    parsed = parse_file(path=path, filename="scores.tsv")

    assert parsed.blocks[0].text == "Model=A; Score, best=1,5"


# --- HTML --------------------------------------------------------------------------

ARTICLE_HTML = """<!doctype html><html><head><title>Adapters in practice</title>
<script>var trackingToken = "SCRIPT-SECRET";</script></head><body>
<nav><a href="/">Home</a> <a href="/menu">NAVIGATION-MENU</a></nav>
<article><h1>Adapters in practice</h1>
<p>Adapters add small bottleneck layers to every transformer block. They were introduced
to make multi-task fine-tuning cheap, because each task only stores its adapter weights.</p>
<h2>Hyperparameters</h2>
<p>A bottleneck size of 64 worked best in our runs. Smaller sizes lost accuracy on the
harder tasks, and larger ones only increased memory without improving the results.</p>
</article>
<footer>FOOTER-COPYRIGHT 2024</footer><script>track("SCRIPT-TWO")</script></body></html>"""


def _assert_chrome_removed(text: str) -> None:
    for noise in ("SCRIPT-SECRET", "SCRIPT-TWO", "NAVIGATION-MENU", "FOOTER-COPYRIGHT"):
        assert noise not in text


def test_html_keeps_main_text_and_headings(tmp_path: Path) -> None:
    path = tmp_path / "post.html"
    path.write_text(ARTICLE_HTML, encoding="utf-8")

    parsed = parse_file(path=path, filename="post.html")

    assert parsed.source_type == "html"
    assert parsed.title == "Adapters in practice"
    text = " ".join(block.text for block in parsed.blocks)
    assert "bottleneck size of 64" in text
    _assert_chrome_removed(text)
    hyper = next(block for block in parsed.blocks if "size of 64" in block.text)
    assert hyper.heading_path[-1] == "Hyperparameters"


def test_html_with_url_is_a_web_document() -> None:
    parsed = parse_html(html=ARTICLE_HTML.encode(), url="https://example.org/adapters")

    assert parsed.source_type == "web"
    assert any("bottleneck layers" in block.text for block in parsed.blocks)


def test_html_falls_back_to_beautifulsoup(monkeypatch: pytest.MonkeyPatch) -> None:
    from corpora.parsers import html as html_parser

    monkeypatch.setattr(html_parser.trafilatura, "extract", lambda *args, **kwargs: None)
    page = ARTICLE_HTML.replace(
        "</article>", "<table><tr><th>Size</th><th>Acc</th></tr><tr><td>64</td><td>90.1</td></tr></table></article>"
    )

    parsed = parse_html(html=page)

    text = " ".join(block.text for block in parsed.blocks)
    assert "bottleneck size of 64" in text
    _assert_chrome_removed(text)
    hyper = next(block for block in parsed.blocks if "size of 64" in block.text)
    assert hyper.heading_path == ["Adapters in practice", "Hyperparameters"]
    assert any(block.kind == "row" and block.text == "Size=64; Acc=90.1" for block in parsed.blocks)


def test_html_without_text_is_refused() -> None:
    with pytest.raises(ParseError, match="no readable text"):
        parse_html(html="<html><head><script>app()</script></head><body><div id='root'></div></body></html>")


# --- Markdown and text ---------------------------------------------------------------

NOTES_MD = """# Fine-tuning notes

Intro paragraph about the [project](https://example.org).

## LoRA

LoRA trains **low-rank** matrices.

```python
# not a heading
x = 1
```

### Rank

Rank 8 is the default.

| Method | F1 |
|---|---|
| LoRA | 91.2 |

## BitFit

Only biases are trained.
"""


def test_markdown_tracks_heading_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(NOTES_MD, encoding="utf-8")

    parsed = parse_file(path=path, filename="notes.md")

    assert parsed.source_type == "markdown"
    assert parsed.title == "Fine-tuning notes"
    by_text = {block.text: block for block in parsed.blocks}
    assert by_text["Intro paragraph about the project."].heading_path == ["Fine-tuning notes"]
    assert by_text["LoRA trains low-rank matrices."].heading_path == ["Fine-tuning notes", "LoRA"]
    assert by_text["Rank 8 is the default."].heading_path == ["Fine-tuning notes", "LoRA", "Rank"]
    assert by_text["Only biases are trained."].heading_path == ["Fine-tuning notes", "BitFit"]
    code = next(block for block in parsed.blocks if "x = 1" in block.text)
    assert "# not a heading" in code.text
    assert by_text["Method=LoRA; F1=91.2"].kind == "row"


def test_plain_text_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("First paragraph\nstill first.\n\n\nSecond paragraph.\n", encoding="utf-8")

    parsed = parse_file(path=path, filename="notes.txt")

    assert parsed.source_type == "text"
    assert [block.text for block in parsed.blocks] == ["First paragraph\nstill first.", "Second paragraph."]


# --- parse_file guards -------------------------------------------------------------


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")

    with pytest.raises(ParseError, match="empty"):
        parse_file(path=path, filename="empty.pdf")


def test_unsupported_type_lists_supported_types(tmp_path: Path) -> None:
    path = tmp_path / "setup.exe"
    path.write_bytes(b"MZ\x90\x00" * 100)

    with pytest.raises(ParseError, match=r"\.exe is not a supported type") as error:
        parse_file(path=path, filename="setup.exe")
    for extension in (".pdf", ".xlsx", ".csv", ".html", ".md", ".txt"):
        assert extension in str(error.value)


def test_oversize_file_is_refused_with_limit_in_mb(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * (2 * 1024 * 1024 + 1))

    with pytest.raises(ParseError, match="the limit is 2 MB"):
        parse_file(path=path, filename="big.txt", max_bytes=2 * 1024 * 1024)


def test_binary_named_txt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(b"\x00\x01\x02binary" * 100)

    with pytest.raises(ParseError, match="binary"):
        parse_file(path=path, filename="data.txt")


def test_pdf_without_extension_is_sniffed(tmp_path: Path) -> None:
    path = write_text_pdf(tmp_path / "upload")

    parsed = parse_file(path=path, filename="upload")

    assert parsed.source_type == "pdf"


# --- the sample corpus ----------------------------------------------------------------


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sample_corpus", ROOT / "scripts" / "make_sample_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_sample_corpus.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def test_sample_corpus_files_all_parse(sample_dir: Path) -> None:
    names = sorted(path.name for path in sample_dir.iterdir())
    assert names == ["questions.csv", "questions.json", "sat_blog.html", "sat_paper.pdf", "sat_results.xlsx"]

    paper = parse_file(path=sample_dir / "sat_paper.pdf", filename="sat_paper.pdf")
    pages = {block.locator["page"] for block in paper.blocks}
    assert 3 <= max(pages) <= 5
    assert any(
        block.kind == "row"
        and block.text.endswith(
            "): Method=SAT (ours); Params=2.8M; MNLI=90.3; SST-2=96.3; QNLI=94.8; RTE=86.2; Avg=91.9"
        )
        and block.context.startswith("Table 1: GLUE dev results")
        for block in paper.blocks
    )

    blog = parse_file(path=sample_dir / "sat_blog.html", filename="sat_blog.html")
    blog_text = " ".join(block.text for block in blog.blocks)
    assert "3e-4" in blog_text
    for noise in ("TRACKING-SNIPPET", "cookies", "Copyright", "Subscribe", "Related posts"):
        assert noise not in blog_text


def test_sample_workbook_holds_three_stacked_tables_read_with_their_own_headers(sample_dir: Path) -> None:
    from core.tables import row_parse

    parsed = parse_file(path=sample_dir / "sat_results.xlsx", filename="sat_results.xlsx")
    rows = [block for block in parsed.blocks if block.kind == "row"]

    assert parsed.title == "SAT results"
    assert {block.locator["table"] for block in rows} == {1, 2, 3}
    squad = [row_parse(block.text) for block in rows if block.locator["table"] == 1]
    assert len(squad) == 12  # twelve systems; title, header, group and caption rows are not data
    for row in squad:
        assert row.context.startswith("Table 2: SQuAD v1.1 results") and row.context.endswith((", Baselines", ", Ours"))
        assert list(row.cells)[:2] == ["System", "Params (M)"] and "Dev F1" in row.cells
    best = max(squad, key=lambda row: row.number("Dev F1"))
    assert best.cells == {
        "System": "SAT + Full FT (Ensemble)",
        "Params (M)": "357.8",
        "Dev EM": "89.6",
        "Dev F1": "95.1",
        "Test F1": "95.3",
    }
    cost = [row_parse(block.text) for block in rows if block.locator["table"] == 2]
    assert [row.cells["Method"] for row in cost] == ["Full fine-tuning", "LoRA r=8", "SAT"]
    assert cost[0].context == "Table 3: Training cost on SQuAD v1.1 on one 24 GB GPU."

    questions = json.loads((sample_dir / "questions.json").read_text(encoding="utf-8"))
    answer = next(
        q["reference_answer"] for q in questions if q["question"].startswith("Which system has the best Dev F1")
    )
    assert "SAT + Full FT (Ensemble)" in answer and "95.1" in answer


def test_sample_questions_json_and_csv_agree(sample_dir: Path) -> None:
    from_json = json.loads((sample_dir / "questions.json").read_text(encoding="utf-8"))
    with (sample_dir / "questions.csv").open(encoding="utf-8", newline="") as handle:
        from_csv = list(csv.DictReader(handle))

    assert from_csv == from_json
    conversations = {row["conversation"] for row in from_json}
    assert len(conversations) >= 4
    assert any(row["question"] == "How does it compare to full fine-tuning?" for row in from_json)
    assert all(row["reference_answer"].strip() for row in from_json)


def test_sample_generator_is_deterministic(tmp_path: Path) -> None:
    generator = _load_generator()
    first = generator.write_sample_corpus(out=tmp_path / "a")
    second = generator.write_sample_corpus(out=tmp_path / "b")

    assert [path.read_bytes() for path in first] == [path.read_bytes() for path in second]


def test_xlsxwriter_numbers_survive_round_trip(tmp_path: Path) -> None:
    # XlsxWriter is what the generator uses; make sure its floats come back clean.
    path = tmp_path / "w.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("S")
    sheet.write_row(0, 0, ["Name", "Score"])
    sheet.write_row(1, 0, ["a", 0.1 * 3])
    workbook.close()

    parsed = parse_file(path=path, filename="w.xlsx")

    assert parsed.blocks[0].text == "Name=a; Score=0.3"
