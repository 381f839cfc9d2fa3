"""Bookings API routes, mounted under /api/ (the staff refund of a payment lives here too:
it is the bookings issue's money operation)."""

from django.urls import path

from bookings import api

urlpatterns = [
    path("bookings/", api.BookingListCreateApi.as_view(), name="bookings_list"),
    path("bookings/<int:pk>/", api.BookingDetailApi.as_view(), name="bookings_detail"),
    path("bookings/<int:pk>/cancel/", api.BookingCancelApi.as_view(), name="bookings_cancel"),
    path(
        "bookings/<int:pk>/reschedule/",
        api.BookingRescheduleApi.as_view(),
        name="bookings_reschedule",
    ),
    path("payments/<int:pk>/refund/", api.PaymentRefundApi.as_view(), name="payments_refund"),
]
