"""Axes for the TUI's charts (plotext): a few dates along x, whole numbers up y, so that a
chart stays readable at 80 columns and in monochrome (NO_COLOR: the marks are characters)."""

from __future__ import annotations

from datetime import date

TICK_EVERY = 9  # columns per date label along x (`dd.mm` and a gap)


def day_ticks(days: list[date], width: int) -> tuple[list[float], list[str]]:
    """Positions (1-based, as plotted) and `dd.mm` labels: the first and last day, and evenly
    spaced days between as the width allows."""
    if not days:
        return [], []
    room = max(2, min(len(days), width // TICK_EVERY))
    if room == 1 or len(days) == 1:
        picks = [0]
    else:
        step = (len(days) - 1) / (room - 1)
        picks = sorted({round(n * step) for n in range(room)})
    return [float(p + 1) for p in picks], [days[p].strftime("%d.%m") for p in picks]


def whole_ticks(low: float, high: float, count: int = 4) -> tuple[list[float], list[str]]:
    """`count` whole-number labels from `low` to `high` (plotext would print `24.2`)."""
    if high <= low:
        high = low + 1
    step = (high - low) / max(1, count - 1)
    values = [low + n * step for n in range(count)]
    return values, [f"{round(v):,}".replace(",", " ") for v in values]


def count_ticks(top: int) -> tuple[list[float], list[str], int]:
    """Ticks for a count axis: 0 and up to three steps of a whole number; the axis's top."""
    step = max(1, -(-top // 3))
    values = [float(n * step) for n in range(4) if n == 0 or (n - 1) * step < top]
    return values, [str(int(v)) for v in values], int(values[-1])


__all__ = ["count_ticks", "day_ticks", "whole_ticks"]
