"""A real Celery worker process against the project's Redis and the test database."""

from marketplace.models import SentMail
from marketplace.tasks import send_email
from tests.conftest import wait_for


def test_a_real_worker_runs_a_task_and_returns_its_result(celery_worker):
    # when
    result = send_email.delay(to=["client@example.test"], subject="From the worker", body="Hi")
    # then
    assert result.get(timeout=30) == 1
    sent = wait_for(lambda: SentMail.objects.filter(subject="From the worker").first())
    assert sent.to == "client@example.test"
    assert "send_email" in celery_worker.output()
