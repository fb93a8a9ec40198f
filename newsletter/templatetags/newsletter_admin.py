"""The newsletter panel of the admin dashboard: totals and a 30-day sign-up chart.

``{% include "admin/newsletter/dashboard.html" %}`` in the admin index shows it to staff
who may see subscribers, and to nobody else. The chart is inline SVG drawn on the
server, so it needs no script and passes the site's Content Security Policy.
"""

from datetime import timedelta

from django import template
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from newsletter.models import Subscriber

register = template.Library()

CHART_DAYS = 30
CHART_WIDTH = 300
CHART_HEIGHT = 80


def daily_signups(days: int = CHART_DAYS) -> list[tuple]:
    """Return (date, number of new subscribers) for each of the last ``days`` days, oldest first."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    counts = dict(
        Subscriber.objects.filter(
            created_at__date__gte=first,
        )
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values_list("day")
        .annotate(number=Count("id"))
        .values_list("day", "number")
    )
    return [(first + timedelta(days=offset), counts.get(first + timedelta(days=offset), 0))
            for offset in range(days)]  # fmt: skip


def chart_bars(days: list[tuple]) -> list[dict]:
    """Return the position and size of one SVG bar per day, scaled to the busiest day."""
    most = max((number for _, number in days), default=0) or 1
    slot = CHART_WIDTH / len(days)
    bars = []
    for index, (day, number) in enumerate(days):
        height = round(number / most * (CHART_HEIGHT - 4), 1)
        bars.append(
            {
                "x": round(index * slot + 1, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "width": round(slot - 2, 1),
                "height": height,
                "day": day,
                "number": number,
            }
        )
    return bars


@register.inclusion_tag("admin/newsletter/dashboard_panel.html", takes_context=True)
def newsletter_dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("newsletter.view_subscriber"):
        return {"show": False}
    totals = Subscriber.objects.status_totals()
    days = daily_signups()
    return {
        "show": True,
        "totals": [(value, label, totals[value]) for value, label in Subscriber.Status.choices],
        "bars": chart_bars(days),
        "signups_total": sum(number for _, number in days),
        "busiest": max(days, key=lambda item: item[1]) if days else None,
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "chart_days": CHART_DAYS,
    }
