from django.urls import URLPattern

app_name = "stripe_sandbox"
urlpatterns: list[URLPattern] = []
