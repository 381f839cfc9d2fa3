"""Bookings' services, one module per action family (as Zulip's ``zerver/actions/``):

- ``holds``: holding a coach's time, the coach lock, a hold's end;
- ``checkout``: paying for a hold, confirmation when the payment succeeded;
- ``cancellation``, ``rescheduling``;
- ``after_session``: completion, no-show, issues, a package session's transfer;
- ``reminders``, ``packages``, ``calendar``;
- ``notes``: the client's private notes on a session.

Import the module you need: ``from bookings.services import holds``.
"""
