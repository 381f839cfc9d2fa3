from django.urls import path

from bookings import views

app_name = "bookings"
urlpatterns = [
    path("", views.my_sessions, name="my_sessions"),
    path("new/", views.new_booking, name="new"),
    path("review/", views.review, name="review"),
    path("agenda/", views.agenda, name="agenda"),
    path("policy/", views.policy_edit, name="policy"),
    path("calendar/", views.calendar_settings, name="calendar_settings"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path("packages/<int:pk>/buy/", views.package_buy, name="package_buy"),
    path("packages/purchases/<int:pk>/", views.package_purchase_detail, name="package_purchase"),
    path("packages/purchases/<int:pk>/refund/", views.package_refund, name="package_refund"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/pay/", views.pay, name="pay"),
    path("<int:pk>/paid/", views.paid, name="paid"),
    path("<int:pk>/status/", views.status_fragment, name="status"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:pk>/complete/", views.complete, name="complete"),
    path("<int:pk>/no-show/", views.no_show, name="no_show"),
    path("<int:pk>/issue/", views.raise_issue, name="issue"),
    path("<int:pk>/receipt/", views.receipt, name="receipt"),
]
