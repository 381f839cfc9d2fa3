"""The client's private notes on their sessions."""

from __future__ import annotations

from bookings.models import Booking, BookingStatus, SessionNote
from marketplace.errors import DomainError, NotFound
from marketplace.models import User

# Sessions that took place (or were meant to): the ones a client keeps notes on.
NOTED_STATUSES = (BookingStatus.COMPLETED, BookingStatus.NO_SHOW, BookingStatus.CONFIRMED)


def session_note_save(*, booking: Booking, client: User, text: str) -> SessionNote | None:
    """Keep ``text`` as ``client``'s note on ``booking`` (an empty text removes the note).

    Only the booking's own client may write it; anyone else is told the booking does not
    exist (``NotFound``), as for every booking they may not see.
    """
    if booking.client_id != client.pk:
        raise NotFound("No such booking.")
    if booking.status not in NOTED_STATUSES:
        raise DomainError("Notes are kept on sessions that took place or are coming up.")
    text = text.strip()
    if not text:
        SessionNote.objects.filter(booking=booking).delete()
        return None
    note, _ = SessionNote.objects.update_or_create(booking=booking, defaults={"text": text})
    return note
