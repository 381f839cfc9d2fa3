from django.db import migrations


class Migration(migrations.Migration):
    """Statistics on each free window's span, so that the planner can tell how many windows
    overlap a searched range (``coaches.selectors._spans_overlap``). A statistics object
    costs nothing at write time and is filled by ANALYZE (autovacuum runs it)."""

    dependencies = [
        ("coaches", "0005_price_at_most_stripes_maximum"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE STATISTICS IF NOT EXISTS freewindow_span_stats"
            " ON (tstzrange(starts_at, ends_at)) FROM coaches_freewindow",
            reverse_sql="DROP STATISTICS IF EXISTS freewindow_span_stats",
        ),
    ]
