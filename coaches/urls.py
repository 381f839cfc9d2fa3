from django.urls import URLPattern

app_name = "coaches"
urlpatterns: list[URLPattern] = []
