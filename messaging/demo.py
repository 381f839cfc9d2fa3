"""Demo conversation for development: the demo client asking the demo coach a question."""

from __future__ import annotations

from marketplace.models import User
from messaging import services
from messaging.models import Thread

DEMO_LINES = [
    ("client", "Hi Maya! I'm thinking about a career change. Could we talk about it first?"),
    ("coach", "Hello Chloe, of course. What are you hoping to change? https://example.com/intro"),
    ("client", "Moving from finance into product design. Are your Tuesday evenings free?"),
]


def seed_demo_conversations() -> Thread | None:
    """Create the demo thread once; running it again leaves an existing history alone."""
    client = User.objects.filter(email="client@demo.coach").first()
    coach = User.objects.filter(email="coach@demo.coach").first()
    if client is None or coach is None:
        return None
    thread = services.thread_open(by=client, coach=coach)
    if thread.last_seq:
        return thread
    for who, body in DEMO_LINES:
        services.message_send(thread=thread, sender=client if who == "client" else coach, body=body)
    # The coach has read up to their own reply; the client's last question waits unread.
    return thread
