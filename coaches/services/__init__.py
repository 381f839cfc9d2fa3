"""Coaches' services, one module per action family (as Zulip's ``zerver/actions/``):

- ``profiles``: a coach's profile, started with the application, its public fields, whether
  the coach's Stripe account can take charges;
- ``applications``: the application's steps, submission, staff approval and rejection;
- ``session_types``: what the coach sells, and the profile's lowest price;
- ``availability``: weekly hours, booking rules, time off and extra hours;
- ``search_index``: search's full-text document and availability index;
- ``photos``: the coach's photo cut to the sizes pages show;
- ``reviews``: clients' reviews, the coach's reply, staff hiding, the coach's rating.
- ``catalogue``: the version of the home page's cached catalogue, replaced on every change.

Import the module you need: ``from coaches.services import applications``.
"""
