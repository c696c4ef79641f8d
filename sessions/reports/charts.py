"""The report's charts, drawn with matplotlib from one `ChartData`: SVG for the page, PNG for the PDF.

Figures are built with the object API (``Figure`` + the Agg canvas), never pyplot, so no
global state is shared between threads and no display is needed. Only numbers and fixed
labels reach a figure (questions are numbered, never quoted), and text is drawn as paths,
so an SVG carries no text from an answer or a document.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot; the report never does

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from judging.robustness import auroc  # noqa: E402

GOOD, FAIR, BAD, ACCENT, MUTED = "#16794c", "#a86200", "#b42318", "#3557d6", "#6b7280"
STYLE = {
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "svg.fonttype": "path",
    "svg.hashsalt": "assay",  # stable ids: the same data gives the same SVG
}


@dataclass(frozen=True)
class ChartData:
    """The numbers every chart is drawn from (the page and the PDF get the same)."""

    question_scores: list[float | None]  # in report order; None where unscored
    criteria: list[tuple[str, float | None]]  # (criterion name, mean points)
    genuine_scores: list[float] = field(default_factory=list)
    fake_scores: list[float] = field(default_factory=list)
    response_ms: list[int] = field(default_factory=list)
    evaluation_ms: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    src: str  # a data: URI, so the page and the PDF embed it the same way and nothing is fetched
    width: int  # CSS pixels
    height: int


def _color(value: float) -> str:
    return GOOD if value >= 80 else FAIR if value >= 60 else BAD


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def scores_figure(data: ChartData) -> Figure:
    figure = _figure(7.2, 2.6)
    axes = figure.add_subplot()
    positions = [i + 1 for i, v in enumerate(data.question_scores) if v is not None]
    values = [v for v in data.question_scores if v is not None]
    axes.bar(positions, values, color=[_color(v) for v in values], width=0.8)
    missing = [i + 1 for i, v in enumerate(data.question_scores) if v is None]
    if missing:
        axes.scatter(missing, [2] * len(missing), marker="x", color=MUTED, label="not scored")
        axes.legend(loc="lower right", frameon=False)
    axes.set(ylim=(0, 100), xlim=(0.3, max(1, len(data.question_scores)) + 0.7))
    axes.set(title="Weighted score per question", xlabel="question (report order)", ylabel="score")
    axes.xaxis.get_major_locator().set_params(integer=True)
    return figure


def criteria_figure(data: ChartData) -> Figure:
    figure = _figure(4.6, 0.45 * max(1, len(data.criteria)) + 0.9)
    axes = figure.add_subplot()
    names = [name for name, _ in data.criteria][::-1]
    means = [mean or 0 for _, mean in data.criteria][::-1]
    bars = axes.barh(names, means, color=[_color(m) for m in means], height=0.6)
    labels = [("n/a" if mean is None else f"{mean:.1f}") for _, mean in data.criteria][::-1]
    axes.bar_label(bars, labels=labels, padding=3)
    axes.set(xlim=(0, 112), title="Mean points per criterion", xlabel="points (0–100)")
    return figure


def robustness_figure(data: ChartData) -> Figure:
    figure = _figure(7.2, 2.8)
    hist, roc = figure.subplots(1, 2, width_ratios=(3, 2))
    bins = list(range(0, 105, 5))
    hist.hist(
        [data.genuine_scores, data.fake_scores], bins=bins, label=["genuine", "fake"], color=[GOOD, BAD], alpha=0.85
    )
    hist.set(title="Genuine vs fake answers", xlabel="weighted score", ylabel="answers", xlim=(0, 100))
    hist.legend(frameon=False)
    fpr, tpr = roc_curve(genuine=data.genuine_scores, fake=data.fake_scores)
    area = auroc(genuine=data.genuine_scores, fake=data.fake_scores)
    roc.plot(fpr, tpr, color=ACCENT, drawstyle="default", label=f"AUROC {area:.3f}" if area is not None else "AUROC —")
    roc.plot([0, 1], [0, 1], color=MUTED, linestyle=":", linewidth=1)
    roc.set(title="ROC: genuine above fake", xlabel="fakes at or above threshold", ylabel="genuine at or above")
    roc.set(xlim=(0, 1), ylim=(0, 1.02), aspect="equal")
    roc.legend(loc="lower right", frameon=False)
    return figure


def latency_figure(data: ChartData) -> Figure:
    figure = _figure(7.2, 2.4)
    axes = figure.add_subplot()
    series = [(data.response_ms, "response (answer)", ACCENT), (data.evaluation_ms, "evaluation (judging)", FAIR)]
    shown = [(values, label, color) for values, label, color in series if values]
    if shown:
        axes.hist(
            [[v / 1000 for v in values] for values, _, _ in shown],
            bins=20,
            label=[label for _, label, _ in shown],
            color=[color for _, _, color in shown],
            alpha=0.85,
        )
        axes.legend(frameon=False)
    axes.set(title="Latency distribution", xlabel="seconds", ylabel="questions")
    return figure


def roc_curve(*, genuine: list[float], fake: list[float]) -> tuple[list[float], list[float]]:
    """Points of the ROC curve of "genuine scores above fake ones", one per distinct threshold."""
    if not genuine or not fake:
        return [0.0, 1.0], [0.0, 1.0]
    fpr, tpr = [0.0], [0.0]
    for threshold in sorted(set(genuine) | set(fake), reverse=True):
        fpr.append(sum(1 for v in fake if v >= threshold) / len(fake))
        tpr.append(sum(1 for v in genuine if v >= threshold) / len(genuine))
    return fpr, tpr


CHARTS: list[tuple[str, str, Callable[[ChartData], Figure]]] = [
    ("scores", "Weighted score per question", scores_figure),
    ("criteria", "Mean points per criterion", criteria_figure),
    ("robustness", "Genuine vs fake scores and the ROC curve", robustness_figure),
    ("latency", "Latency distribution", latency_figure),
]
MIME = {"svg": "image/svg+xml", "png": "image/png"}
MAX_WIDTH_PX = {"svg": 720, "png": 640}  # the PDF's text column is about 640 CSS pixels (480 pt) wide


def render_figure(figure: Figure, *, fmt: str) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(
            buffer, format=fmt, dpi=150 if fmt == "png" else 100, metadata={"Date": None} if fmt == "svg" else None
        )
    return buffer.getvalue()


def report_charts(data: ChartData, *, fmt: str) -> list[Chart]:
    """Every chart that has data, as data: URIs in ``fmt`` ("svg" for pages, "png" for PDFs)."""
    charts = []
    for name, title, draw in CHARTS:
        if name == "robustness" and not data.fake_scores:
            continue
        if name == "latency" and not (data.response_ms or data.evaluation_ms):
            continue
        if name in ("scores", "criteria") and all(v is None for v in data.question_scores):
            continue  # nothing judged yet
        with matplotlib.rc_context(STYLE):
            figure = draw(data)
        encoded = base64.b64encode(render_figure(figure, fmt=fmt)).decode("ascii")
        width_in, height_in = figure.get_size_inches()
        scale = min(1.0, MAX_WIDTH_PX[fmt] / (width_in * 100))
        charts.append(
            Chart(
                name=name,
                title=title,
                src=f"data:{MIME[fmt]};base64,{encoded}",
                width=round(width_in * 100 * scale),
                height=round(height_in * 100 * scale),
            )
        )
    return charts
