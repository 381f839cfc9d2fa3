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
    path("plans/", api.CoachingPlanListCreateApi.as_view(), name="plans_list"),
    path("plans/<int:pk>/subscribe/", api.PlanSubscribeApi.as_view(), name="plans_subscribe"),
    path("subscriptions/", api.PlanSubscriptionListApi.as_view(), name="subscriptions_list"),
    path(
        "subscriptions/<int:pk>/cancel/",
        api.PlanCancelApi.as_view(),
        name="subscriptions_cancel",
    ),
    path(
        "subscriptions/<int:pk>/resume/",
        api.PlanResumeApi.as_view(),
        name="subscriptions_resume",
    ),
    path("subscriptions/<int:pk>/pause/", api.PlanPauseApi.as_view(), name="subscriptions_pause"),
    path(
        "subscriptions/<int:pk>/change/",
        api.PlanChangeApi.as_view(),
        name="subscriptions_change",
    ),
]
