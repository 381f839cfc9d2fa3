"""The site's home page, mounted at ``/`` by the project's URLs (``coaches.urls`` lives
under ``/coaches/``)."""

from django.urls import path

from coaches.views import public

urlpatterns = [path("", public.home, name="home")]
