"""Tables keep their structure: hand-built workbooks, CSV files and a PDF, one layout each."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from fpdf import FPDF

from core.tables import markdown_rows, row_parse
from corpora.chunking import chunk_document
from corpora.parsers import parse_file


def _rows(parsed) -> list[tuple[dict, str]]:
    return [(block.locator, block.text) for block in parsed.blocks if block.kind == "row"]


def _tables(parsed) -> list[str]:
    return [block.text for block in parsed.blocks if block.kind == "table"]


def _workbook(path: Path, rows: list[list[object]], *, merges: tuple[str, ...] = (), title: str | None = None) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Results"
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    if title:
        workbook.properties.title = title
    workbook.save(path)
    return path


# Two tables stacked WITHOUT a blank row, each with a title above and a caption below,
# offset to start in column B; the first has a two-level header (merged), group rows,
# numbers stored as text and "-" placeholders.
STACKED = [
    [None, "Table 2"],
    [None, "System", "Dev", None, "Test"],
    [None, None, "EM", "F1", "F1"],
    [None, "Published"],
    [None, "BERT LARGE (Ensemble)", 85.8, 91.8, "-"],
    [None, "XLNet", "89.0", "94.5", "95.1"],
    [None, "Ours"],
    [None, "SAT", 88.6, 94.4, 94.5],
    [None, "SQuAD 1.1 results."],
    [None, "Table 3"],
    [None, "Method", "Memory (GB)", "Time (h)"],
    [None, "LoRA", 13.6, 4.9],
    [None, "SAT", 14.2, 5.3],
    [None, "Training cost on one GPU."],
]
STACKED_MERGES = ("B1:E1", "B2:B3", "C2:D2", "B10:D10")


def test_stacked_tables_without_blank_rows_keep_their_own_headers_titles_captions_and_groups(tmp_path: Path) -> None:
    parsed = parse_file(path=_workbook(tmp_path / "r.xlsx", STACKED, merges=STACKED_MERGES), filename="r.xlsx")

    assert _rows(parsed) == [
        (
            {"sheet": "Results", "row": 5, "table": 1},
            "(Table 2: SQuAD 1.1 results., Published): "
            "System=BERT LARGE (Ensemble); Dev EM=85.8; Dev F1=91.8; Test F1=-",
        ),
        (
            {"sheet": "Results", "row": 6, "table": 1},
            "(Table 2: SQuAD 1.1 results., Published): System=XLNet; Dev EM=89.0; Dev F1=94.5; Test F1=95.1",
        ),
        (
            {"sheet": "Results", "row": 8, "table": 1},
            "(Table 2: SQuAD 1.1 results., Ours): System=SAT; Dev EM=88.6; Dev F1=94.4; Test F1=94.5",
        ),
        (
            {"sheet": "Results", "row": 12, "table": 2},
            "(Table 3: Training cost on one GPU.): Method=LoRA; Memory (GB)=13.6; Time (h)=4.9",
        ),
        (
            {"sheet": "Results", "row": 13, "table": 2},
            "(Table 3: Training cost on one GPU.): Method=SAT; Memory (GB)=14.2; Time (h)=5.3",
        ),
    ]
    texts = " ".join(text for _, text in _rows(parsed))
    assert "System=System" not in texts and "Method=Method" not in texts  # header rows are not data
    # The document's title is the file's, not a cell's.
    assert parsed.title == "r"


def test_each_table_is_also_one_markdown_block_with_its_label_and_rows(tmp_path: Path) -> None:
    parsed = parse_file(path=_workbook(tmp_path / "r.xlsx", STACKED, merges=STACKED_MERGES), filename="r.xlsx")

    first, second = _tables(parsed)
    label, rows = markdown_rows(first)
    assert label == "Table 2: SQuAD 1.1 results."
    assert rows[0] == {"Row": "5", "Group": "Published", "System": "BERT LARGE (Ensemble)", "Dev EM": "85.8",
                       "Dev F1": "91.8", "Test F1": "-"}  # fmt: skip
    assert [row["System"] for row in rows] == ["BERT LARGE (Ensemble)", "XLNet", "SAT"]
    assert markdown_rows(second)[0] == "Table 3: Training cost on one GPU."
    table_block = next(block for block in parsed.blocks if block.kind == "table")
    assert table_block.locator == {"sheet": "Results", "table": 1, "rows": [5, 8]}


def test_row_and_table_chunks_carry_tags_that_read_with_their_text(tmp_path: Path) -> None:
    parsed = parse_file(path=_workbook(tmp_path / "r.xlsx", STACKED, merges=STACKED_MERGES), filename="r.xlsx")

    chunks = chunk_document(parsed=parsed, name="r.xlsx")

    sat = next(chunk for chunk in chunks if chunk.locator.get("row") == 8)
    assert f"{sat.source_tag} {sat.text}" == (
        "[Sheet: r.xlsx/Results] Row 8 (Table 2: SQuAD 1.1 results., Ours): "
        "System=SAT; Dev EM=88.6; Dev F1=94.4; Test F1=94.5"
    )
    whole = next(chunk for chunk in chunks if chunk.locator.get("rows"))
    assert whole.source_tag == "[Sheet: r.xlsx/Results] Rows 5-8:"
    assert row_parse(sat.text).cells["Dev F1"] == "94.4"


def test_workbook_title_property_names_the_document(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "r.xlsx", STACKED, merges=STACKED_MERGES, title="SAT results")

    assert parse_file(path=path, filename="r.xlsx").title == "SAT results"


def test_two_level_header_without_merges_fills_the_upper_level_to_the_right(tmp_path: Path) -> None:
    path = tmp_path / "glue.csv"
    path.write_text(
        "Table 1: GLUE and SQuAD dev results.\n"
        "Model,MNLI,,SQuAD,\n"
        ",m,mm,EM,F1\n"
        "BERT,86.6,86.7,84.1,90.9\n"
        "SAT,87.0,87.2,88.6,94.4\n",
        encoding="utf-8",
    )

    parsed = parse_file(path=path, filename="glue.csv")

    assert _rows(parsed)[1] == (
        {"sheet": "glue", "row": 5, "table": 1},
        "(Table 1: GLUE and SQuAD dev results.): Model=SAT; MNLI m=87.0; MNLI mm=87.2; SQuAD EM=88.6; SQuAD F1=94.4",
    )
    assert parsed.title == "glue"


def test_caption_above_the_header_and_tables_separated_by_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(
        'Table 5\n"Runs on the small model, averaged over three seeds."\nRun,Loss\nA,1.20\nB,1.05\n'
        "\n"
        "Seed,Note\n13,baseline\n",
        encoding="utf-8",
    )

    parsed = parse_file(path=path, filename="runs.csv")

    assert _rows(parsed) == [
        (
            {"sheet": "runs", "row": 4, "table": 1},
            "(Table 5: Runs on the small model, averaged over three seeds.): Run=A; Loss=1.20",
        ),
        (
            {"sheet": "runs", "row": 5, "table": 1},
            "(Table 5: Runs on the small model, averaged over three seeds.): Run=B; Loss=1.05",
        ),
        ({"sheet": "runs", "row": 8, "table": 2}, "Seed=13; Note=baseline"),
    ]


def test_stacked_tables_without_titles_split_at_the_second_header(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "two.xlsx",
        [["Model", "Acc"], ["A", 81.0], ["B", 79.5], ["Task", "Size", "Split"], ["MNLI", 393000, "train"]],
    )

    parsed = parse_file(path=path, filename="two.xlsx")

    assert [text for _, text in _rows(parsed)] == [
        "Model=A; Acc=81",
        "Model=B; Acc=79.5",
        "Task=MNLI; Size=393000; Split=train",
    ]


def test_pdf_table_rows_carry_the_caption_and_prose_stays_prose(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "We compare three adapters on one benchmark. The results follow in the table below.")
    pdf.ln(4)
    with pdf.table(borders_layout="ALL") as table:
        for cells in (["Method", "Params", "Accuracy"], ["LoRA", "0.8M", "91.7"], ["SAT", "2.8M", "91.9"]):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(2)
    pdf.multi_cell(0, 6, "Table 4: Accuracy of the adapters on the benchmark.")
    pdf.ln(4)
    pdf.multi_cell(0, 6, "SAT is the most accurate of the three methods we tried.")
    path = tmp_path / "paper.pdf"
    pdf.output(str(path))

    parsed = parse_file(path=path, filename="paper.pdf")

    assert _rows(parsed) == [
        (
            {"page": 1, "table": 1, "row": 2},
            "(Table 4: Accuracy of the adapters on the benchmark.): Method=LoRA; Params=0.8M; Accuracy=91.7",
        ),
        (
            {"page": 1, "table": 1, "row": 3},
            "(Table 4: Accuracy of the adapters on the benchmark.): Method=SAT; Params=2.8M; Accuracy=91.9",
        ),
    ]
    label, rows = markdown_rows(_tables(parsed)[0])
    assert label.startswith("Table 4") and [row["Method"] for row in rows] == ["LoRA", "SAT"]
    prose = [block.text for block in parsed.blocks if block.kind == "text"]
    assert any(text.startswith("We compare three adapters") for text in prose)
    assert any("most accurate of the three" in text for text in prose)
    assert not any("91.7" in text for text in prose)  # table cells are not prose


def test_a_long_table_is_written_as_markdown_parts_of_at_most_200_rows_each(tmp_path) -> None:
    rows: list[list[object]] = [["Run", "Method", "Accuracy"]]
    rows += [[f"run-{n}", "LoRA" if n % 2 else "SAT", 80 + n % 10] for n in range(1, 451)]
    parsed = parse_file(path=_workbook(tmp_path / "runs.xlsx", rows), filename="runs.xlsx")

    assert len(_rows(parsed)) == 450
    parts = [block for block in parsed.blocks if block.kind == "table"]
    assert [block.locator["rows"] for block in parts] == [[2, 201], [202, 401], [402, 451]]
    read = [markdown_rows(block.text)[1] for block in parts]
    assert [len(part) for part in read] == [200, 200, 50]
    assert read[0][0] == {"Row": "2", "Run": "run-1", "Method": "LoRA", "Accuracy": "81"}
    assert read[2][-1]["Run"] == "run-450"


def test_merged_cells_are_read_from_the_sheet_xml_of_a_streamed_workbook(tmp_path) -> None:
    # A merged banner over "Dev"/"Test": the read-only reader finds the merge in the XML,
    # so the banner names both columns (it would be left blank under "Test" otherwise).
    rows: list[list[object]] = [["System", "SQuAD", None], [None, "Dev", "Test"], ["BERT", 84.1, 85.0]]
    path = _workbook(tmp_path / "squad.xlsx", rows, merges=("B1:C1",))

    parsed = parse_file(path=path, filename="squad.xlsx")

    (row,) = [text for _, text in _rows(parsed)]
    assert "SQuAD Dev=84.1" in row and "SQuAD Test=85" in row
