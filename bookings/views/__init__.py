"""Bookings pages, one module per page family:

- ``journey``: booking and paying (topic -> review -> Checkout -> confirmed);
- ``booking``: one booking's page and its actions (cancel, reschedule, complete, no-show,
  issue), the receipt;
- ``packages``: buying a package, a purchase's page, refunding unused sessions;
- ``dashboards``: the client's sessions, the coach's agenda and cancellation policy;
- ``calendar``: the personal iCal feed and its address;
- ``common``: what they share (the signed-in user, a booking they may see, their zone).

Views are thin: parse input, check who may see what (``booking_or_404`` gives 404 to
everyone else), call one service, render. Domain errors become form errors or messages.
``bookings/urls.py`` points at each module's views.
"""
