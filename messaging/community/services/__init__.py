"""Every change to the community, one module per action family: ``groups``, ``memberships``,
``posts`` (discussions and replies), ``reactions`` (and follows), ``moderation``,
``notifications``; ``audit`` writes the moderation log."""
