"""Coaches pages, one module per page family:

- ``public``: search, a coach's profile and its next free times, the coach's photo;
- ``applications``: the coach's application wizard, the protected certificate download;
- ``dashboard``: the coach's dashboard, session types, the availability page;
- ``membership``: the coach's platform membership (plans, paying, cancelling, resuming);
- ``reviews``: a client's review of a session, the coach's answer;
- ``common``: what they share (the signed-in user, the coach's own application).

``coaches/urls.py`` points at each module's views.
"""
