from django.urls import path

from coaches import views

app_name = "coaches"
urlpatterns = [
    path("", views.search, name="search"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("apply/", views.application, name="application"),
    path("apply/<slug:step>/", views.application, name="application_step"),
    path("session-types/", views.session_type_add, name="session_type_add"),
    path("session-types/<int:pk>/remove/", views.session_type_remove, name="session_type_remove"),
    path("availability/", views.availability, name="availability"),
    path("certificates/<int:application_id>/", views.certificate, name="certificate"),
    path("reviews/new/<int:booking_id>/", views.review_create, name="review_create"),
    path("reviews/<int:pk>/reply/", views.review_reply, name="review_reply"),
    path("<slug:slug>/", views.profile, name="profile"),
    path("<slug:slug>/slots/", views.profile_slots, name="profile_slots"),
    path("<slug:slug>/photo/", views.photo, name="photo"),
]
