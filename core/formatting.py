"""Formatting shared by pages, reports and the command line."""

from __future__ import annotations


def duration_ms(value: int | float | str | None) -> str:
    """A duration in milliseconds for people: 950 → "950 ms", 1234 → "1.23 s",
    95000 → "1 min 35 s", 4 h → "4 h 0 min"; None → "—"."""
    if value is None or value == "":
        return "—"
    ms = float(value)
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
