"""Bookings API routes, mounted under /api/."""

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
]
