"""Write Assay's demo corpus and question set into a folder.

    python scripts/make_sample_corpus.py --out DIR

Files (all fictional, written for this project, internally consistent):
- sat_paper.pdf: a three-page research paper on Sparse Adapter Tuning (SAT) with a
  GLUE results table;
- sat_results.xlsx: three result tables stacked on one sheet without blank rows (SQuAD
  results with a two-level header and group rows, training cost, ablations), each with
  a merged title row and a caption row, offset from column A;
- sat_blog.html: a blog post about using SAT in practice, with navigation, a cookie
  banner, scripts and a footer that ingestion must strip;
- questions.json and questions.csv: five conversations (prose, definitions, table
  superlatives and lookups with follow-ups, one question the documents do not answer)
  with reference answers.

Output is deterministic: fixed dates and metadata, so the same bytes every run.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import xlsxwriter
from fpdf import FPDF

FIXED_DATE = datetime(2024, 6, 3, 9, 0, 0, tzinfo=UTC)

PDF_NAME = "sat_paper.pdf"
XLSX_NAME = "sat_results.xlsx"
HTML_NAME = "sat_blog.html"

PAPER_TITLE = "Sparse Adapter Tuning: Parameter-Efficient Fine-Tuning with Learned Sparse Updates"

# (heading, [paragraphs]); the table is placed after the section named in TABLE_AFTER.
PAPER_SECTIONS: list[tuple[str, list[str]]] = [
    (
        "Abstract",
        [
            "We introduce Sparse Adapter Tuning (SAT), a parameter-efficient fine-tuning method "
            "that learns which individual weights of a pretrained model to update. SAT spends a "
            "short mask warmup of 500 steps scoring every weight by the magnitude of its "
            "accumulated gradient, keeps the top 0.8% as a fixed sparse mask, and then trains "
            "only those entries. On RoBERTa-large (355M parameters) SAT trains 2.8M parameters, "
            "reaches a GLUE dev average of 91.9 against 92.0 for full fine-tuning, and uses 41% "
            "less GPU memory during training. Because the sparse update is merged into the "
            "pretrained weights after training, SAT adds no inference latency.",
        ],
    ),
    (
        "1 Introduction",
        [
            "Full fine-tuning updates every parameter of a pretrained language model. For "
            "RoBERTa-large this means 355M trainable parameters, optimizer states for each of "
            "them, and a separate 1.4 GB checkpoint for every downstream task. "
            "Parameter-efficient fine-tuning (PEFT) methods reduce this cost by training a small "
            "number of parameters while keeping the backbone frozen.",
            "Existing PEFT methods fix where the trainable parameters go before training starts. "
            "Adapters insert new bottleneck layers, LoRA adds low-rank matrices next to the "
            "attention projections, and BitFit trains only the bias terms. We ask a different "
            "question: if we may update only a tiny fraction of the existing weights, which "
            "weights should they be?",
            "Sparse Adapter Tuning answers this question with data. SAT first measures which "
            "weights matter for the target task and then restricts training to them. Our "
            "contributions are: (1) a simple gradient-magnitude criterion for choosing a sparse "
            "update mask; (2) a training recipe that stores optimizer states only for the "
            "selected entries; and (3) experiments on GLUE and SQuAD v1.1 showing that SAT "
            "matches full fine-tuning within 0.1 GLUE points while training 0.8% of the "
            "parameters.",
        ],
    ),
    (
        "2 Method",
        [
            "Let W be a pretrained weight matrix. SAT learns an update Delta W that is non-zero "
            "only on a fixed set of positions given by a binary mask M, so the fine-tuned weight "
            "is W + M * Delta W. The mask is chosen once, before the main training run, and is "
            "shared by all epochs.",
            "Mask warmup. During the first 500 optimization steps SAT trains all weights with a "
            "small learning rate and accumulates the absolute gradient of every weight. After "
            "the warmup the weights are restored to their pretrained values, and the positions "
            "with the largest accumulated gradients are kept. The default density is 0.8% of "
            "the weights in each matrix, which selects 2.8M of RoBERTa-large's 355M parameters. "
            "A lighter variant, SAT-Lite, keeps 0.2% (0.7M parameters).",
            "Sparse training. After the warmup only the masked entries receive updates. SAT "
            "stores the update in compressed sparse row (CSR) format and keeps Adam optimizer "
            "states only for the selected entries, which is where the memory saving comes "
            "from: peak training memory falls from 24.1 GB for full fine-tuning to 14.2 GB, a "
            "reduction of 41%.",
            "Merging for inference. When training ends, the sparse update is added into the "
            "pretrained weights. The deployed model has exactly the architecture and size of "
            "the original, so unlike adapters SAT adds no inference latency. A task-specific "
            "SAT checkpoint stores only the sparse update and takes 11.4 MB on disk, compared "
            "with 1,420 MB for a fully fine-tuned RoBERTa-large.",
        ],
    ),
    (
        "3 Experimental Setup",
        [
            "We fine-tune RoBERTa-large on four GLUE tasks (MNLI, SST-2, QNLI and RTE) and on "
            "SQuAD v1.1. Baselines are full fine-tuning, BitFit, Houlsby adapters, LoRA with "
            "rank 8 on the query and value projections, prefix tuning, prompt tuning and IA3. "
            "All runs use a single 24 GB GPU, a batch size of 32 and three random seeds; we "
            "report the median.",
            "SAT uses a learning rate of 3e-4 with linear decay, against 1e-5 for full "
            "fine-tuning and 4e-4 for LoRA. The mask warmup uses a learning rate of 1e-5 and "
            "500 steps in every experiment.",
        ],
    ),
    (
        "4 Results",
        [
            "Table 1 reports GLUE development set accuracy. SAT reaches an average of 91.9, "
            "0.1 points below full fine-tuning (92.0) and 0.2 points above LoRA (91.7), while "
            "training 2.8M parameters. SAT is the best parameter-efficient method on MNLI "
            "(90.3) and QNLI (94.8); on QNLI it even exceeds full fine-tuning (94.7).",
        ],
    ),
    (
        "5 Analysis",
        [
            "Where do the selected weights live? About 62% of the entries chosen by the mask "
            "warmup fall in the feed-forward layers of the top eight transformer blocks, and "
            "fewer than 5% fall in the embedding matrix. This suggests that task adaptation "
            "concentrates in the upper feed-forward layers, which LoRA on attention "
            "projections does not reach.",
            "Efficiency. Training SAT on SQuAD v1.1 takes 5.3 hours on one GPU, against 4.9 "
            "hours for LoRA and 6.5 hours for full fine-tuning. The mask warmup accounts for "
            "0.2 hours of the SAT total.",
            "Ablation. Choosing the mask at random instead of by gradient magnitude lowers the "
            "GLUE average from 91.9 to 89.4, and shortening the mask warmup from 500 to 100 "
            "steps lowers it to 91.2. Increasing the density from 0.8% to 2% brings no further "
            "gain (91.9).",
        ],
    ),
    (
        "6 Limitations and Conclusion",
        [
            "SAT needs one warmup pass with full gradients, so its peak memory during the "
            "500-step warmup equals that of full fine-tuning; the 41% saving applies to the "
            "main training run. Speedups also require sparse kernels: with dense kernels the "
            "sparse update saves memory but not time.",
            "We presented Sparse Adapter Tuning, which learns where to update a pretrained "
            "model instead of fixing it in advance. SAT matches full fine-tuning within 0.1 "
            "GLUE points and within 0.2 SQuAD Dev F1 points while training 0.8% of the "
            "parameters, and it adds no inference cost.",
        ],
    ),
]
TABLE_AFTER = "4 Results"
TABLE_CAPTION = "Table 1: GLUE dev results with RoBERTa-large (accuracy, median of three seeds)."
GLUE_HEADER = ["Method", "Params", "MNLI", "SST-2", "QNLI", "RTE", "Avg"]
GLUE_ROWS = [
    ["Full fine-tuning", "355M", "90.2", "96.4", "94.7", "86.7", "92.0"],
    ["BitFit", "0.27M", "89.3", "95.8", "93.5", "84.2", "90.7"],
    ["Adapter (Houlsby)", "6.0M", "90.0", "96.1", "94.6", "85.7", "91.6"],
    ["LoRA (r=8)", "0.8M", "90.1", "96.0", "94.5", "86.2", "91.7"],
    ["SAT (ours)", "2.8M", "90.3", "96.3", "94.8", "86.2", "91.9"],
]

# The workbook's one sheet, "Results", holds three tables stacked WITHOUT blank rows
# between them, offset to start in column B, as people lay out results next to a paper:
# each has a title row ("Table 2", merged across the table), a header (Table 2's is two
# levels: "Dev" over "EM" and "F1"), group label rows ("Baselines", "Ours") and a
# caption row under it. Some numbers are stored as text and "-" marks a missing value.
RESULTS_SHEET = "Results"
FIRST_COLUMN = 1  # column B
SQUAD_TITLE = "Table 2"
SQUAD_CAPTION = "SQuAD v1.1 results (RoBERTa-large backbone unless noted; Params in millions)."
SQUAD_UPPER = ["System", "Params (M)", "Dev", None, "Test"]
SQUAD_LOWER = [None, None, "EM", "F1", "F1"]
# (group label, rows); "-" means no test submission. Strings are numbers stored as text.
SQUAD_GROUPS: list[tuple[str, list[list[object]]]] = [
    (
        "Baselines",
        [
            ["Full fine-tuning", 355, 88.9, 94.6, 94.8],
            ["LoRA r=8", 0.8, 88.1, 94.1, "94.2"],
            ["LoRA r=64", 6.3, 88.4, 94.2, "-"],
            ["Adapter (Houlsby)", 6.0, 88.0, 94.0, 94.1],
            ["BitFit", 0.27, 85.9, 92.3, "92.5"],
            ["Prefix tuning", 0.9, 84.7, 91.5, "-"],
            ["Prompt tuning", 0.1, 80.2, 88.0, 88.3],
            ["IA3", 0.6, 86.8, 93.0, 93.2],
            ["BERT LARGE (Ensemble)", 1005, 85.8, 91.8, "-"],
        ],
    ),
    (
        "Ours",
        [
            ["SAT", 2.8, 88.6, 94.4, "94.5"],
            ["SAT-Lite", 0.7, 87.9, 93.9, 94.0],
            ["SAT + Full FT (Ensemble)", 357.8, 89.6, 95.1, 95.3],
        ],
    ),
]
EFFICIENCY_TITLE = "Table 3"
EFFICIENCY_CAPTION = "Training cost on SQuAD v1.1 on one 24 GB GPU."
EFFICIENCY_HEADER = ["Method", "Trainable params (M)", "Train memory (GB)", "Train time (h)", "Checkpoint (MB)"]
EFFICIENCY_ROWS: list[list[object]] = [
    ["Full fine-tuning", 355, 24.1, 6.5, 1420],
    ["LoRA r=8", 0.8, 13.6, 4.9, 3.2],
    ["SAT", 2.8, 14.2, 5.3, 11.4],
]
ABLATION_TITLE = "Table 4"
ABLATION_CAPTION = "Ablations of SAT on GLUE (dev average accuracy)."
ABLATION_HEADER = ["Variant", "Mask", "Warmup steps", "Density", "GLUE avg"]
ABLATION_ROWS: list[list[object]] = [
    ["SAT (default)", "gradient", 500, "0.8%", 91.9],
    ["Random mask", "random", 500, "0.8%", 89.4],
    ["Short warmup", "gradient", 100, "0.8%", 91.2],
    ["Higher density", "gradient", 500, "2%", 91.9],
]

BLOG_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Fine-tuning on one GPU with Sparse Adapter Tuning | Halden Lab Notes</title>
<meta name="description" content="Practical notes on Sparse Adapter Tuning.">
<style>body { font-family: sans-serif; } .cookie { position: fixed; }</style>
<script>window.analyticsQueue = ["TRACKING-SNIPPET-DO-NOT-INDEX"];</script>
</head>
<body>
<header class="site-header">
  <a class="logo" href="/">Halden Lab Notes</a>
  <nav><ul>
    <li><a href="/">Home</a></li><li><a href="/archive">Archive</a></li>
    <li><a href="/about">About us</a></li><li><a href="/subscribe">Subscribe to the newsletter</a></li>
  </ul></nav>
</header>
<div class="cookie" id="cookie-banner">We use cookies to improve your experience.
  <button>Accept all cookies</button></div>
<main>
<article>
<h1>Fine-tuning on one GPU with Sparse Adapter Tuning</h1>
<p class="byline">By Ines Varga, 3 June 2024</p>
<p>Sparse Adapter Tuning (SAT) lets us adapt RoBERTa-large to a new task on a single
24 GB GPU. Instead of adding new layers, SAT picks the 0.8% of existing weights that matter
most for the task and trains only those. This post collects what we learned running it on
our own classification and question answering data.</p>
<h2>Settings that worked for us</h2>
<p>Keep the mask warmup at 500 steps. Shorter warmups choose noisier masks: with 100 steps
our accuracy dropped by about 0.7 points. Use a learning rate of 3e-4 for the sparse
training phase, roughly thirty times the 1e-5 that full fine-tuning needs, because each
selected weight has to move further on its own.</p>
<p>A density of 0.8% is the sweet spot. Going up to 2% cost more memory and gave no
measurable gain; going down to 0.2% (the SAT-Lite setting) lost about half a point of
Dev F1 on SQuAD.</p>
<h2>Deployment</h2>
<p>After training, merge the sparse update into the base weights. The merged model is an
ordinary RoBERTa-large, so serving it needs no custom code and adds no latency. We keep
only the 11.4 MB sparse update per task in our model registry and merge it at load time.</p>
<h2>Where SAT falls short</h2>
<p>On long-document summarization (arXiv abstracts) SAT trailed full fine-tuning by
1.1 ROUGE-L, the largest gap we saw. Our guess is that generation tasks need broader
changes than a 0.8% mask allows. We also saw no training speedup on GPUs without sparse
kernel support: SAT still saved memory there, but not time.</p>
</article>
</main>
<aside class="related"><h3>Related posts</h3><ul><li><a href="/lora">LoRA in production</a></li></ul></aside>
<footer class="site-footer"><p>Copyright 2024 Halden Lab. All rights reserved.
  Privacy policy | Terms of use | Contact</p></footer>
<script>document.getElementById("cookie-banner").hidden = false; trackPageView();</script>
</body>
</html>
"""

# (conversation, question, reference answer); turns of a conversation are in order.
# They cover prose, definitions, table superlatives and lookups (with follow-ups that say
# "its" and "this model") and a question the documents do not answer.
QUESTIONS: list[tuple[str, str, str]] = [
    (
        "sat-method",
        "What is Sparse Adapter Tuning?",
        "Sparse Adapter Tuning (SAT) is a parameter-efficient fine-tuning method that learns "
        "which existing weights to update: a 500-step mask warmup scores every weight by its "
        "accumulated gradient magnitude, the top 0.8% are kept as a fixed sparse mask, and "
        "only those entries are trained (2.8M of RoBERTa-large's 355M parameters).",
    ),
    (
        "sat-method",
        "How does it compare to full fine-tuning?",
        "It is almost as accurate: a GLUE dev average of 91.9 versus 92.0 for full "
        "fine-tuning, while training 2.8M instead of 355M parameters and using 41% less GPU "
        "memory during training (14.2 GB versus 24.1 GB).",
    ),
    (
        "sat-method",
        "Does it slow down inference?",
        "No. After training the sparse update is merged into the pretrained weights, so the "
        "deployed model has the original architecture and SAT adds no inference latency.",
    ),
    (
        "squad-table",
        "Which system has the best Dev F1 on SQuAD?",
        "SAT + Full FT (Ensemble), with a Dev F1 of 95.1 (Table 2, row 17); full fine-tuning is next with 94.6.",
    ),
    (
        "squad-table",
        "What is its Test F1?",
        "95.3 (SAT + Full FT (Ensemble), Table 2).",
    ),
    (
        "squad-table",
        "What is the Dev F1 of LoRA r=8?",
        "94.1 on SQuAD v1.1 (Dev EM 88.1, Test F1 94.2).",
    ),
    (
        "training-cost",
        "Which method trains fastest?",
        "LoRA r=8: 4.9 hours on SQuAD v1.1 on one GPU, against 5.3 hours for SAT and 6.5 hours for full fine-tuning.",
    ),
    (
        "training-cost",
        "How much training memory does this model need?",
        "LoRA r=8 needs 13.6 GB of training memory (Table 3).",
    ),
    (
        "practice",
        "What learning rate should I use for SAT?",
        "3e-4 for the sparse training phase (with linear decay), about thirty times the 1e-5 "
        "used for full fine-tuning; the 500-step mask warmup itself uses 1e-5.",
    ),
    (
        "practice",
        "How large is a SAT checkpoint?",
        "About 11.4 MB, because it stores only the sparse update, compared with 1,420 MB for a "
        "fully fine-tuned RoBERTa-large.",
    ),
    (
        "out-of-scope",
        "How many attention heads does RoBERTa-large have?",
        "The documents do not say how many attention heads RoBERTa-large has.",
    ),
]


class _Paper(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 10, str(self.page_no()), align="C")


def write_pdf(path: Path) -> None:
    pdf = _Paper(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_producer("Assay sample corpus")
    pdf.set_title(PAPER_TITLE)
    pdf.set_author("Mara Lindqvist, Tomas Okafor, Wen-Li Hsu")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 17)
    pdf.multi_cell(0, 8, PAPER_TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", size=10.5)
    pdf.multi_cell(0, 5.5, "Mara Lindqvist, Tomas Okafor, Wen-Li Hsu", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5.5, "Halden Institute for Language Technology", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    for heading, paragraphs in PAPER_SECTIONS:
        if heading == "5 Analysis":
            pdf.add_page()  # the analysis opens page 3; the table stays on page 2
        pdf.set_font("Helvetica", "B", 13)
        pdf.multi_cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
        pdf.set_font("Helvetica", size=10.5)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 5.5, paragraph, align="J", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3.5)
        if heading == TABLE_AFTER:
            _glue_table(pdf)
    pdf.output(str(path))


def _glue_table(pdf: FPDF) -> None:
    pdf.set_font("Helvetica", size=10)
    with pdf.table(
        col_widths=(38, 18, 14, 14, 14, 14, 14),
        text_align="CENTER",
        line_height=6.5,
        borders_layout="ALL",
    ) as table:
        for cells in [GLUE_HEADER, *GLUE_ROWS]:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(2)
    pdf.set_font("Helvetica", "I", 9.5)
    pdf.multi_cell(0, 5, TABLE_CAPTION, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def write_xlsx(path: Path) -> None:
    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties(
        {"title": "SAT results", "author": "Assay sample corpus", "created": FIXED_DATE.replace(tzinfo=None)}
    )
    bold = workbook.add_format({"bold": True, "align": "center"})
    title_format = workbook.add_format({"bold": True, "font_size": 13})
    group_format = workbook.add_format({"italic": True})
    caption_format = workbook.add_format({"italic": True, "font_size": 9})
    one_decimal = workbook.add_format({"num_format": "0.0"})
    sheet = workbook.add_worksheet(RESULTS_SHEET)
    first = FIRST_COLUMN
    row = 0

    def title(text: str, width: int) -> None:
        nonlocal row
        sheet.merge_range(row, first, row, first + width - 1, text, title_format)
        row += 1

    def line(text: str, cell_format: object) -> None:
        nonlocal row
        sheet.write(row, first, text, cell_format)
        row += 1

    def values(cells: list[object]) -> None:
        nonlocal row
        for offset, value in enumerate(cells):
            if isinstance(value, float) and offset >= 1:
                sheet.write_number(row, first + offset, value, one_decimal)
            else:
                sheet.write(row, first + offset, value)  # strings stay text, even "94.2"
        row += 1

    # Table 2: a two-level header; "System" and "Params (M)" span both header rows.
    title(SQUAD_TITLE, 5)
    sheet.merge_range(row, first, row + 1, first, SQUAD_UPPER[0], bold)
    sheet.merge_range(row, first + 1, row + 1, first + 1, SQUAD_UPPER[1], bold)
    sheet.merge_range(row, first + 2, row, first + 3, SQUAD_UPPER[2], bold)
    sheet.write(row, first + 4, SQUAD_UPPER[4], bold)
    for offset, name in enumerate(SQUAD_LOWER):
        if name:
            sheet.write(row + 1, first + offset, name, bold)
    row += 2
    for group, rows in SQUAD_GROUPS:
        line(group, group_format)
        for cells in rows:
            values(cells)
    line(SQUAD_CAPTION, caption_format)
    # Table 3 and Table 4 follow at once: no blank row between the tables.
    for table_title, caption, header, rows in (
        (EFFICIENCY_TITLE, EFFICIENCY_CAPTION, EFFICIENCY_HEADER, EFFICIENCY_ROWS),
        (ABLATION_TITLE, ABLATION_CAPTION, ABLATION_HEADER, ABLATION_ROWS),
    ):
        title(table_title, len(header))
        for offset, name in enumerate(header):
            sheet.write(row, first + offset, name, bold)
        row += 1
        for cells in rows:
            values(cells)
        line(caption, caption_format)
    sheet.set_column(first, first, 28)
    sheet.set_column(first + 1, first + 4, 14)
    workbook.close()


def questions_rows() -> list[dict[str, str]]:
    return [
        {"conversation": conversation, "question": question, "reference_answer": answer}
        for conversation, question, answer in QUESTIONS
    ]


def write_questions(directory: Path) -> list[Path]:
    rows = questions_rows()
    json_path = directory / "questions.json"
    json_path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["conversation", "question", "reference_answer"])
    writer.writeheader()
    writer.writerows(rows)
    csv_path = directory / "questions.csv"
    csv_path.write_text(buffer.getvalue(), encoding="utf-8")
    return [json_path, csv_path]


def write_sample_corpus(*, out: Path) -> list[Path]:
    """Write every sample file into ``out`` (created if missing); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    write_pdf(out / PDF_NAME)
    write_xlsx(out / XLSX_NAME)
    (out / HTML_NAME).write_text(BLOG_HTML, encoding="utf-8")
    return [out / PDF_NAME, out / XLSX_NAME, out / HTML_NAME, *write_questions(out)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write the files into")
    arguments = parser.parse_args(argv)
    for path in write_sample_corpus(out=arguments.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
