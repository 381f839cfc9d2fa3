"""Coaches API routes, mounted under /api/."""

from django.urls import path

from coaches import api

urlpatterns = [
    path("coaches/", api.CoachListApi.as_view(), name="coaches_list"),
    path("coaches/<int:pk>/", api.CoachDetailApi.as_view(), name="coaches_detail"),
    path("coaches/<int:pk>/slots/", api.CoachSlotsApi.as_view(), name="coaches_slots"),
]
