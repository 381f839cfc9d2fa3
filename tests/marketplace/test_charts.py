"""The server-drawn bar chart: bars in proportion, a loss drawn empty but written, each
value in the table beside the picture."""

from __future__ import annotations

from marketplace.charts import HEIGHT, TOP_SPACE, Series, bar_chart


def test_bars_are_in_proportion_and_every_value_is_also_written():
    chart = bar_chart(
        title="Net per month",
        labels=[("January 2026", "Jan"), ("February 2026", "Feb"), ("March 2026", "Mar")],
        series=[Series("Net", [100, 50, -20])],
        text=lambda value: f"{value} €",
    )
    heights = [group.bars[0].height for group in chart.groups]
    assert heights == [HEIGHT - TOP_SPACE, (HEIGHT - TOP_SPACE) / 2, 0]
    assert [bar.y + bar.height for group in chart.groups for bar in group.bars] == [HEIGHT] * 3
    assert chart.rows == [
        ("January 2026", ["100 €"]),
        ("February 2026", ["50 €"]),
        ("March 2026", ["-20 €"]),
    ]
    assert [group.bars[0].text for group in chart.groups] == ["100 €", "50 €", "-20 €"]


def test_a_fixed_scale_and_missing_values():
    chart = bar_chart(
        title="Rating",
        labels=[("April", "Apr"), ("May", "May")],
        series=[Series("Average", [2.5, None])],
        text=lambda value: "—" if value is None else f"{value} / 5",
        maximum=5,
    )
    assert chart.groups[0].bars[0].height == (HEIGHT - TOP_SPACE) / 2
    assert chart.groups[1].bars[0].height == 0
    assert chart.rows[1] == ("May", ["—"])


def test_labels_stay_inside_the_picture_with_sixty_columns():
    chart = bar_chart(
        title="Per minute",
        labels=[(f"{minute}", f"{minute}") for minute in range(60)],
        series=[Series("Received", [1] * 60), Series("Processed", [1] * 60)],
        text=str,
    )
    assert all(18 <= group.text_x <= chart.width - 18 for group in chart.groups)
    assert all(len(group.bars) == 2 for group in chart.groups)
