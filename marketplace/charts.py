"""Charts drawn on the server as SVG: the geometry of a bar chart, for the template
``components/bar_chart.html``, which draws it with a title, a legend, each bar's value as
its own tooltip title, and the same figures as a table beneath (values readable without the
chart, by a screen reader or a person who prefers numbers).

No chart library and no script: the page stays within its Content-Security-Policy and the
chart prints and scales with the page (``viewBox``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 200
# room under the bars for the labels, and above for the tallest bar's breathing space
LABEL_SPACE = 20
TOP_SPACE = 10


@dataclass(frozen=True)
class Series:
    """One row of figures: a name ("Gross", "Net") and a value per label."""

    name: str
    values: Sequence[int | float | None]


@dataclass(frozen=True)
class Bar:
    series: str
    tone: int
    x: float
    y: float
    width: float
    height: float
    text: str


@dataclass(frozen=True)
class Group:
    label: str
    short: str
    text_x: float
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    """What the template draws: ``title`` names the chart (the SVG's accessible name),
    ``groups`` one column of bars per label, ``rows`` the same figures as table rows."""

    title: str
    width: int
    height: int
    baseline: float
    groups: list[Group]
    series: list[tuple[str, int]]
    rows: list[tuple[str, list[str]]]

    @property
    def view_height(self) -> int:
        return self.height + LABEL_SPACE


def bar_chart(
    *,
    title: str,
    labels: Sequence[tuple[str, str]],
    series: Sequence[Series],
    text: Callable[[int | float | None], str],
    maximum: float | None = None,
) -> BarChart:
    """Bars for ``series`` side by side under each of ``labels`` (``(long, short)``: "April
    2026" in tooltips and the table, "Apr" under the bars). ``text`` writes a value as the
    reader reads it ("£95.00", "4.5 / 5", "—" for a missing one). Values below zero are drawn
    as empty bars (their figure still says so). ``maximum`` fixes the top of the scale (a
    rating's 5), else the largest value is."""
    plot_height = HEIGHT - TOP_SPACE
    baseline = float(HEIGHT)
    top = maximum or max((value or 0 for row in series for value in row.values), default=0) or 1
    gap = 8.0
    group_width = (WIDTH - gap * (len(labels) + 1)) / max(len(labels), 1)
    bar_width = group_width / max(len(series), 1)
    groups = []
    for index, (label, short) in enumerate(labels):
        left = gap + index * (group_width + gap)
        bars = []
        for position, row in enumerate(series):
            value = row.values[index]
            height = round(max(float(value or 0), 0.0) / top * plot_height, 1)
            bars.append(
                Bar(
                    series=row.name,
                    tone=position,
                    x=round(left + position * bar_width, 1),
                    y=round(baseline - height, 1),
                    width=round(max(bar_width - 2, 1.0), 1),
                    height=height,
                    text=text(value),
                )
            )
        groups.append(
            Group(
                label=label,
                short=short,
                # a label stays inside the picture, however narrow its column
                text_x=round(min(max(left + group_width / 2, 18.0), WIDTH - 18.0), 1),
                bars=bars,
            )
        )
    return BarChart(
        title=title,
        width=WIDTH,
        height=HEIGHT,
        baseline=baseline,
        groups=groups,
        series=[(row.name, position) for position, row in enumerate(series)],
        rows=[
            (label, [text(row.values[index]) for row in series])
            for index, (label, _) in enumerate(labels)
        ],
    )
