"""The repository's root conftest: plugins for the whole suite."""

# Every request the stripe library sends is checked against the stripe package's parameters.
pytest_plugins = ["tests.stripe_requests"]
