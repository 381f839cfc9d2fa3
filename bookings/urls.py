from django.urls import path

from bookings.views import booking, calendar, dashboards, insights, journey, packages

app_name = "bookings"
urlpatterns = [
    path("", dashboards.my_sessions, name="my_sessions"),
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
