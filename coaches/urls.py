from django.urls import path

from coaches.views import applications, dashboard, membership, public, reviews

app_name = "coaches"
urlpatterns = [
    path("", public.search, name="search"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("apply/", applications.application, name="application"),
    path("apply/<slug:step>/", applications.application, name="application_step"),
    path("session-types/", dashboard.session_type_add, name="session_type_add"),
    path(
        "session-types/<int:pk>/remove/",
        dashboard.session_type_remove,
        name="session_type_remove",
    ),
    path("availability/", dashboard.availability, name="availability"),
    path("account-photo/", dashboard.account_photo, name="account_photo"),
    path("membership/", membership.membership, name="membership"),
    path("membership/subscribe/", membership.membership_subscribe, name="membership_subscribe"),
    path("membership/<int:pk>/pay/", membership.membership_pay, name="membership_pay"),
    path("membership/<int:pk>/cancel/", membership.membership_cancel, name="membership_cancel"),
    path("membership/<int:pk>/resume/", membership.membership_resume, name="membership_resume"),
    path("certificates/<int:application_id>/", applications.certificate, name="certificate"),
    path("reviews/new/<int:booking_id>/", reviews.review_create, name="review_create"),
    path("reviews/<int:pk>/reply/", reviews.review_reply, name="review_reply"),
    path("<slug:slug>/", public.profile, name="profile"),
    path("<slug:slug>/slots/", public.profile_slots, name="profile_slots"),
    path("<slug:slug>/photo/", public.photo, name="photo"),
]
