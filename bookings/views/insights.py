"""The coach's insights: a tab of the coach dashboard, with a CSV file of each table."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable

from babel import numbers
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bookings import insights
from bookings.insights import CoachInsights, Period
from coaches.models import CoachProfile
from marketplace.charts import Series, bar_chart
from marketplace.dates import format_month, format_short, zone
from marketplace.money import babel_locale, format_money, format_percent, to_major

TABLES = ("money", "sessions", "clients", "months", "agenda")
# A fall is written with the minus sign, as typeset numbers are.
MINUS = "\u2212"


def _rate(rate: float | None) -> str:
    return format_percent(round(rate * 10000)) if rate is not None else "—"


def _hours(seconds: float) -> str:
    return numbers.format_decimal(round(seconds / 3600, 1), "#,##0.#", locale=babel_locale(None))


def _stars(average: float | None) -> str:
    if average is None:
        return "—"
    return f"{numbers.format_decimal(round(average, 2), '0.0#', locale=babel_locale(None))} / 5"


def change(percent: int | None, *, up_is_good: bool = True) -> dict:
    """How a figure moved against the previous range, for ``bookings/_change.html``."""
    if percent is None:
        return {"text": "no earlier figure", "tone": "neutral", "arrow": ""}
    if percent == 0:
        return {"text": "no change", "tone": "neutral", "arrow": "="}
    good = (percent > 0) == up_is_good
    return {
        "text": f"{'+' if percent > 0 else MINUS}{abs(percent)}%",
        "tone": "success" if good else "danger",
        "arrow": "▲" if percent > 0 else "▼",
    }


def _star_change(trend: float | None) -> dict:
    if trend is None:
        return {"text": "no earlier figure", "tone": "neutral", "arrow": ""}
    if trend == 0:
        return {"text": "no change", "tone": "neutral", "arrow": "="}
    text = numbers.format_decimal(abs(trend), "0.0#", locale=babel_locale(None))
    return {
        "text": f"{'+' if trend > 0 else MINUS}{text} stars",
        "tone": "success" if trend > 0 else "danger",
        "arrow": "▲" if trend > 0 else "▼",
    }


def _money_text(currency: str) -> Callable[[int | float | None], str]:
    def text(value: int | float | None) -> str:
        return format_money(int(value or 0), currency)

    return text


def _month_labels(period: Period) -> list[tuple[str, str]]:
    return [(format_month(month), format_month(month, short=True)) for month in period.months]


def _coach(request: HttpRequest) -> CoachProfile | None:
    if request.user.pk is None:
        return None
    return CoachProfile.objects.filter(user_id=request.user.pk).select_related("user").first()


def _figures(request: HttpRequest) -> tuple[CoachProfile | None, CoachInsights | None, str]:
    """The signed-in coach and their figures for the ``range`` asked for; the error to
    show when the range is not one we know."""
    coach = _coach(request)
    if coach is None:
        return None, None, ""
    range_key = request.GET.get("range", insights.DEFAULT_RANGE)
    if range_key not in insights.RANGES:
        return coach, None, "Choose this month, the last 3 months or the last 12 months."
    viewer = zone(request.viewer_time_zone)  # type: ignore[attr-defined]
    return coach, insights.coach_insights(coach=coach, range_key=range_key, zone=viewer), ""


@require_GET
@login_required
def coach_insights(request: HttpRequest) -> HttpResponse:
    coach, figures, error = _figures(request)
    if coach is None:
        return render(request, "bookings/not_a_coach.html", status=403)
    if figures is None:
        return render(
            request,
            "bookings/insights.html",
            {"error": error, "ranges": insights.RANGES.values(), "range_key": ""},
            status=400,
        )
    labels = _month_labels(figures.current)
    money = [
        {
            "currency": item.currency,
            "gross": format_money(item.current.gross, item.currency),
            "gross_change": change(item.gross_change),
            "fees": format_money(item.current.fees, item.currency),
            "refunded": format_money(item.current.refunded, item.currency),
            "refunds": item.current.refunds,
            "net": format_money(item.current.net, item.currency),
            "net_change": change(item.net_change),
            "chart": bar_chart(
                title=f"Gross and net revenue in {item.currency.upper()} per month, "
                f"{figures.current.label}",
                labels=labels,
                series=[
                    Series("Gross", [month.gross for month in item.by_month]),
                    Series("Net", [month.net for month in item.by_month]),
                ],
                text=_money_text(item.currency),
            ),
        }
        for item in figures.money
    ]
    sessions, before = figures.sessions, figures.previous_sessions
    session_rows = [
        ("Completed", sessions.completed, before.completed, change(figures.completed_change)),
        (
            "No-shows",
            sessions.no_show,
            before.no_show,
            change(insights.change_percent(sessions.no_show, before.no_show), up_is_good=False),
        ),
        (
            "Cancelled by clients",
            sessions.cancelled_by_client,
            before.cancelled_by_client,
            change(
                insights.change_percent(sessions.cancelled_by_client, before.cancelled_by_client),
                up_is_good=False,
            ),
        ),
        (
            "Cancelled by you",
            sessions.cancelled_by_coach,
            before.cancelled_by_coach,
            change(
                insights.change_percent(sessions.cancelled_by_coach, before.cancelled_by_coach),
                up_is_good=False,
            ),
        ),
    ]
    context = {
        "coach": coach,
        "figures": figures,
        "range_key": figures.range.key,
        "ranges": insights.RANGES.values(),
        "time_zone": figures.zone.key,
        "money": money,
        "session_rows": session_rows,
        "rebooking_rate": _rate(figures.rebooking.rate),
        "rebooking_change": change(
            insights.change_percent(
                figures.rebooking.rate or 0, figures.previous_rebooking.rate or 0
            )
        ),
        "utilisation_rate": _rate(figures.utilisation.rate),
        "booked_hours": _hours(figures.utilisation.booked_seconds),
        "offered_hours": _hours(figures.utilisation.offered_seconds),
        "utilisation_change": change(
            insights.change_percent(
                figures.utilisation.rate or 0, figures.previous_utilisation.rate or 0
            )
        ),
        "rating": _stars(figures.rating.average),
        "rating_change": _star_change(figures.rating_trend),
        "sessions_chart": bar_chart(
            title=f"Sessions completed per month, {figures.current.label}",
            labels=labels,
            series=[Series("Completed", [month.completed for month in figures.sessions_by_month])],
            text=lambda value: str(int(value or 0)),
        ),
        "rating_chart": bar_chart(
            title=f"Average rating per month, {figures.current.label}",
            labels=labels,
            series=[Series("Average rating", [r.average for r in figures.ratings_by_month])],
            text=_stars,
            maximum=5,
        ),
        "agenda": [
            {"booking": booking, "when": format_short(booking.starts_at, figures.zone.key)}
            for booking in figures.agenda
        ],
    }
    return render(request, "bookings/insights.html", context)


def _csv_rows(table: str, figures: CoachInsights) -> Iterable[list]:
    period = figures.current.label
    if table == "money":
        yield [
            "period",
            "currency",
            "gross",
            "platform_fees",
            "refunded",
            "refunds",
            "net",
            "previous_gross",
            "previous_net",
        ]
        for item in figures.money:
            code = item.currency
            yield [
                period,
                code,
                to_major(item.current.gross, code),
                to_major(item.current.fees, code),
                to_major(item.current.refunded, code),
                item.current.refunds,
                to_major(item.current.net, code),
                to_major(item.previous.gross, code),
                to_major(item.previous.net, code),
            ]
    elif table == "sessions":
        yield ["period", "completed", "no_shows", "cancelled_by_clients", "cancelled_by_coach"]
        for label, sessions in (
            (period, figures.sessions),
            (figures.previous.label, figures.previous_sessions),
        ):
            yield [
                label,
                sessions.completed,
                sessions.no_show,
                sessions.cancelled_by_client,
                sessions.cancelled_by_coach,
            ]
    elif table == "clients":
        yield [
            "period",
            "clients",
            "rebooked_within_60_days",
            "rebooking_rate",
            "reviews",
            "average_rating",
            "booked_hours",
            "offered_hours",
            "utilisation",
        ]
        for label, rebooked, rating, utilisation in (
            (period, figures.rebooking, figures.rating, figures.utilisation),
            (
                figures.previous.label,
                figures.previous_rebooking,
                figures.previous_rating,
                figures.previous_utilisation,
            ),
        ):
            yield [
                label,
                rebooked.clients,
                rebooked.rebooked,
                "" if rebooked.rate is None else round(rebooked.rate, 4),
                rating.reviews,
                "" if rating.average is None else round(rating.average, 2),
                round(utilisation.booked_seconds / 3600, 2),
                round(utilisation.offered_seconds / 3600, 2),
                "" if utilisation.rate is None else round(utilisation.rate, 4),
            ]
    elif table == "months":
        yield ["month", "currency", "gross", "net", "completed_sessions", "average_rating"]
        for index, month in enumerate(figures.current.months):
            sessions = figures.sessions_by_month[index]
            average = figures.ratings_by_month[index].average
            rating_text = "" if average is None else round(average, 2)
            if not figures.money:
                yield [month.isoformat(), "", "", "", sessions.completed, rating_text]
            for item in figures.money:
                code = item.currency
                yield [
                    month.isoformat(),
                    code,
                    to_major(item.by_month[index].gross, code),
                    to_major(item.by_month[index].net, code),
                    sessions.completed,
                    rating_text,
                ]
    else:
        yield ["starts_at", "time_zone", "client", "session_type", "meeting_url"]
        for booking in figures.agenda:
            yield [
                booking.starts_at.astimezone(figures.zone).isoformat(),
                figures.zone.key,
                booking.client.display_name,
                booking.session_type.name,
                booking.meeting_url,
            ]


@require_GET
@login_required
def coach_insights_csv(request: HttpRequest, table: str) -> HttpResponse:
    coach, figures, error = _figures(request)
    if coach is None:
        return HttpResponse("Only coaches have insights.", status=403, content_type="text/plain")
    if figures is None or table not in TABLES:
        message = error or f"No table named {table!r}: one of {', '.join(TABLES)}."
        return HttpResponse(message, status=400, content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="insights-{table}-{figures.range.key}-'
        f'{figures.current.months[0]:%Y-%m}.csv"'
    )
    writer = csv.writer(response)
    for row in _csv_rows(table, figures):
        writer.writerow(row)
    return response
