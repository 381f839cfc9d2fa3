from __future__ import annotations

import factory

from messaging.models import Message, ReadState, Thread
from tests.factories import CoachUserFactory, UserFactory


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread
        skip_postgeneration_save = True

    client = factory.SubFactory(UserFactory)
    coach = factory.SubFactory(CoachUserFactory)

    @factory.post_generation
    def read_states(obj, create, extracted, **kwargs):
        if create:
            ReadState.objects.get_or_create(thread=obj, user=obj.client)
            ReadState.objects.get_or_create(thread=obj, user=obj.coach)


def add_message(thread: Thread, sender, body: str = "Hello") -> Message:
    """A message written straight to the database (no limits, no events): test history."""
    thread.refresh_from_db()
    seq = thread.last_seq + 1
    message = Message.objects.create(thread=thread, sender=sender, seq=seq, body=body)
    Thread.objects.filter(pk=thread.pk).update(last_seq=seq, last_message_at=message.created_at)
    ReadState.objects.filter(thread=thread, user=sender).update(last_read_seq=seq)
    thread.refresh_from_db()
    return message
