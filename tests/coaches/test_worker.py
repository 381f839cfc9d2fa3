"""Decision e-mails go through a real Celery worker, only once the decision is committed."""

from __future__ import annotations

import pytest
from django.db import transaction

from coaches.demo import ensure_managed_lists
from coaches.services import applications
from marketplace.models import SentMail
from tests.coaches.factories import complete_application
from tests.conftest import wait_for
from tests.factories import UserFactory

pytestmark = pytest.mark.worker


def test_the_approval_mail_is_sent_by_the_worker_after_commit(celery_worker):
    # given: a submitted application (committed: the worker reads the same database)
    ensure_managed_lists()
    application = complete_application()
    application = applications.application_submit(
        application=application, by=application.coach.user
    )
    wait_for(lambda: SentMail.objects.filter(subject__contains="received").exists())
    staff = UserFactory(is_staff=True)
    # when: staff approve, but the transaction is rolled back
    with pytest.raises(RuntimeError), transaction.atomic():
        applications.application_approve(application=application, by=staff)
        raise RuntimeError("rolled back")
    # and then approve for real
    applications.application_approve(application=application, by=staff)
    # then: exactly one approval mail, sent by the worker
    sent = wait_for(lambda: SentMail.objects.filter(subject__contains="verified coach").first())
    assert sent.to == application.coach.user.email
    assert SentMail.objects.filter(subject__contains="verified coach").count() == 1
    assert "marketplace.send_email" in celery_worker.output()
