"""Server-made SVG bar charts: no JavaScript, a title on every bar, and a data table beside each chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.humanize.templatetags.humanize import intcomma

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 56, 28, 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # e.g. "Nov 3: 1,234 tool calls"


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    rows: list[tuple[date, int]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM


def _nice_ceiling(value: int) -> int:
    """1, 2 or 5 times a power of ten, at least `value` (so the axis reads in round numbers)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def daily_bar_chart(*, title: str, unit: str, first_day: date, last_day: date, values: dict[date, int]) -> BarChart:
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    rows = [(day, values.get(day, 0)) for day in days]
    top = _nice_ceiling(max((value for _, value in rows), default=0))
    plot_width, plot_height = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_width / max(len(days), 1)
    bars = []
    for index, (day, value) in enumerate(rows):
        height = plot_height * value / top
        bars.append(Bar(LEFT + index * slot + slot * 0.15, HEIGHT - BOTTOM - height, slot * 0.7, height,
                        f"{day:%b %-d}: {intcomma(value)} {unit}"))
    y_ticks = [Tick(HEIGHT - BOTTOM - plot_height * value / top, intcomma(value)) for value in (0, top // 2, top)]
    every = max(1, len(days) // 6)
    x_ticks = [Tick(LEFT + index * slot + slot / 2, f"{day:%b %-d}")
               for index, day in enumerate(days) if index % every == 0]
    return BarChart(title, bars, y_ticks, x_ticks, rows)
