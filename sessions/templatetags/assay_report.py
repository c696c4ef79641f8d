"""Template helpers for session and review pages: sanitized Markdown, durations, inline SVG charts.

LLM and document text is untrusted. Everything here either escapes it (format_html) or,
for Markdown, renders it and then sanitizes the HTML with nh3 before marking it safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import markdown as md
import nh3
from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from core.formatting import duration_ms

register = template.Library()

# What sanitized Markdown may contain. No script/style/iframe/img/forms, no on* or style
# attributes; links keep only href/title and get rel="noopener noreferrer" from nh3.
ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a", "sup", "sub", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_markdown(text: str) -> str:
    html = md.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "template"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


@register.filter
def markdown_safe(text: str | None) -> SafeString:
    """Render untrusted Markdown (LLM output) to sanitized HTML."""
    return mark_safe(sanitize_markdown(text or ""))  # noqa: S308 - sanitized by nh3 just above


register.filter("duration_ms", duration_ms)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * float(value):.0f}%"


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


def _n(value: float) -> str:
    """An SVG coordinate with one decimal (format_html escapes arguments to strings first)."""
    return f"{value:.1f}"


def _bar_color(value: float) -> str:
    if value >= 80:
        return "#16794c"
    if value >= 60:
        return "#a86200"
    return "#b42318"


@register.simple_tag
def criterion_chart(per_criterion: Iterable) -> SafeString:
    """Horizontal bars (0–100) of per-criterion means: [(criterion spec, MeanSummary), …]."""
    rows = list(per_criterion)
    if not rows:
        return mark_safe("")
    label_w, bar_w, row_h = 130, 360, 26
    height = row_h * len(rows) + 24
    parts = []
    for index, (criterion, summary) in enumerate(rows):
        y = index * row_h + 4
        mean = None if summary.mean is None else float(summary.mean)
        width = 0 if mean is None else bar_w * mean / 100
        value = "n/a" if mean is None else f"{mean}"
        parts.append(
            format_html(
                '<text x="{lx}" y="{ty}" text-anchor="end" class="chart-label">{name}</text>'
                '<rect x="{bx}" y="{y}" width="{full}" height="16" rx="3" fill="#eef0f5"></rect>'
                '<rect x="{bx}" y="{y}" width="{w}" height="16" rx="3" fill="{color}"><title>{name}: {text}</title>'
                "</rect>"
                '<text x="{vx}" y="{ty}" class="chart-value">{value} '
                '<tspan class="chart-muted">(w {weight})</tspan></text>',
                lx=label_w - 8,
                ty=y + 13,
                name=criterion.name,
                bx=label_w,
                y=y,
                full=bar_w,
                w=_n(width),
                color=_bar_color(mean or 0),
                text=str(summary),
                vx=_n(label_w + width + 6),
                value=value,
                weight=criterion.weight.normalize(),
            )
        )
    axis = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle" class="chart-muted">{}</text>',
        ((_n(label_w + bar_w * t / 100), height - 4, t) for t in (0, 20, 40, 60, 80, 100)),
    )
    size = {"w": label_w + bar_w + 90, "h": height}
    return format_html(
        '<svg class="chart" role="img" aria-label="Mean rating per criterion" viewBox="0 0 {w} {h}" width="{w}" '
        'height="{h}">{body}{axis}</svg>',
        body=mark_safe("".join(parts)),  # noqa: S308 - every part was built with format_html
        axis=axis,
        **size,
    )


HISTOGRAM_BINS: Sequence[tuple[int, int]] = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 90), (90, 101))


@register.simple_tag
def score_histogram(scores: Iterable[Decimal | None]) -> SafeString:
    """Column histogram of weighted scores; unscored items are left out (and said so)."""
    values = [float(s) for s in scores if s is not None]
    if not values:
        return mark_safe('<p class="empty">No weighted scores yet.</p>')  # noqa: S308 - a constant
    counts = [sum(1 for v in values if lo <= v < hi) for lo, hi in HISTOGRAM_BINS]
    top = max(counts) or 1
    col_w, gap, chart_h, pad = 56, 10, 120, 20
    parts = []
    for index, ((lo, hi), count) in enumerate(zip(HISTOGRAM_BINS, counts, strict=True)):
        x = 10 + index * (col_w + gap)
        h = chart_h * count / top
        label = f"{lo}–{min(hi, 100)}"
        parts.append(
            format_html(
                '<rect x="{x}" y="{top}" width="{cw}" height="{h}" rx="3" fill="{color}">'
                "<title>{label}: {count}</title></rect>"
                '<text x="{cx}" y="{vy}" text-anchor="middle" class="chart-value">{shown}</text>'
                '<text x="{cx}" y="{ly}" text-anchor="middle" class="chart-muted">{label}</text>',
                x=x,
                top=_n(pad + chart_h - h),
                cw=col_w,
                h=_n(h),
                color=_bar_color(lo + 10),
                label=label,
                count=count,
                cx=_n(x + col_w / 2),
                vy=_n(pad + chart_h - h - 4),
                shown=count or "",
                ly=pad + chart_h + 18,
            )
        )
    width = 20 + len(HISTOGRAM_BINS) * (col_w + gap)
    return format_html(
        '<svg class="chart" role="img" aria-label="Histogram of weighted scores over {n} answers" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}">{body}</svg>',
        n=len(values),
        w=width,
        h=pad + chart_h + 26,
        body=mark_safe("".join(parts)),  # noqa: S308 - every part was built with format_html
    )
