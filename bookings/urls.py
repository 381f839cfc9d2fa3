from django.urls import include, path
from django.views.generic import RedirectView

from bookings.views import (
    billing,
    booking,
    calendar,
    dashboards,
    insights,
    journey,
    packages,
    plans,
)

app_name = "bookings"

# The client's Billing page (plans, saved cards, invoices) and its actions, at /billing/.
billing_patterns = [
    path("", billing.billing, name="billing"),
    path("cards/<int:pk>/default/", billing.card_make_default, name="billing_card_default"),
    path("cards/<int:pk>/remove/", billing.card_remove, name="billing_card_remove"),
    path("portal/", billing.card_portal, name="billing_portal"),
    path("cards/add/", billing.card_add, name="billing_card_add"),
]

# Everything else, under /bookings/.
booking_patterns = [
    path("", dashboards.my_sessions, name="my_sessions"),
    # Billing's first address, in e-mails already sent.
    path("billing/", RedirectView.as_view(pattern_name="bookings:billing", query_string=True)),
    path("new/", journey.new_booking, name="new"),
    path("review/", journey.review, name="review"),
    path("agenda/", dashboards.agenda, name="agenda"),
    path("insights/", insights.coach_insights, name="insights"),
    path("insights/<slug:table>.csv", insights.coach_insights_csv, name="insights_csv"),
    path("policy/", dashboards.policy_edit, name="policy"),
    path("calendar/", calendar.calendar_settings, name="calendar_settings"),
    path("calendar/<str:token>.ics", calendar.calendar_feed, name="calendar_feed"),
    path("packages/<int:pk>/buy/", packages.package_buy, name="package_buy"),
    path(
        "packages/purchases/<int:pk>/",
        packages.package_purchase_detail,
        name="package_purchase",
    ),
    path("packages/purchases/<int:pk>/refund/", packages.package_refund, name="package_refund"),
    path("plans/", plans.coach_plans, name="coach_plans"),
    path("plans/new/", plans.coach_plan_new, name="coach_plan_new"),
    path("plans/<int:pk>/edit/", plans.coach_plan_edit, name="coach_plan_edit"),
    path("plans/<int:pk>/active/", plans.coach_plan_active, name="coach_plan_active"),
    path("plans/<int:pk>/subscribe/", plans.plan_subscribe, name="plan_subscribe"),
    path(
        "plans/subscriptions/<int:pk>/<slug:action>/",
        plans.plan_action,
        name="plan_action",
    ),
    path("<int:pk>/", booking.detail, name="detail"),
    path("<int:pk>/pay/", journey.pay, name="pay"),
    path("<int:pk>/paid/", journey.paid, name="paid"),
    path("<int:pk>/status/", journey.status_fragment, name="status"),
    path("<int:pk>/cancel/", booking.cancel, name="cancel"),
    path("<int:pk>/release/", booking.release, name="release"),
    path("<int:pk>/reschedule/", booking.reschedule, name="reschedule"),
    path("<int:pk>/complete/", booking.complete, name="complete"),
    path("<int:pk>/no-show/", booking.no_show, name="no_show"),
    path("<int:pk>/issue/", booking.raise_issue, name="issue"),
    path("<int:pk>/receipt/", booking.receipt, name="receipt"),
    path("<int:pk>/note/", dashboards.session_note, name="note"),
    path("<int:pk>/session.ics", calendar.booking_ics, name="ics"),
]

urlpatterns = [
    path("billing/", include(billing_patterns)),
    path("bookings/", include(booking_patterns)),
]
