"""Template helpers for session and review pages: sanitized Markdown, durations, percentages.

LLM and document text is untrusted. Everything here either escapes it (format_html) or,
for Markdown, renders it with raw HTML escaped and then sanitizes the HTML with nh3
before marking it safe.
"""

from __future__ import annotations

import markdown as md
import nh3
from django import template
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


def _markdown_to_html(text: str) -> str:
    """Markdown with raw HTML turned off: a tag in the text (``<script>…</script>``) is
    shown escaped, as the judge saw it, instead of being rendered or dropped with the
    text it encloses."""
    renderer = md.Markdown(extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
    renderer.preprocessors.deregister("html_block")
    renderer.inlinePatterns.deregister("html")
    return renderer.convert(text)


def sanitize_markdown(text: str) -> str:
    html = _markdown_to_html(text or "")
    # nh3 stays as the second line of defence (links' schemes, anything the renderer lets through).
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
