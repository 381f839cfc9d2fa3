"""A test URLconf: the whole site plus a page that queues a task (an e-mail), for tests of
what a request hands to the tasks it queues."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import include, path

from marketplace.emails import send_templated_email
from marketplace.tasks import send_email  # noqa: F401 - registered before the first request queues it


def queue_mail(request):
    send_templated_email(to="client@example.test", subject="Queued", template="test_hello")
    return HttpResponse("queued")


urlpatterns = [
    path("test/queue-mail/", queue_mail),
    path("", include("marketplace.urls")),
]
