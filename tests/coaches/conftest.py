import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploads of each test land in its own directory, checked by the upload tests."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Factories set a password per user; the default PBKDF2 rounds cost ~0.5 s each here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _managed_lists(request):
    """The certifying bodies and specialisations a data migration installs. Transactional
    tests elsewhere in the suite flush them, so every database test here puts them back."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("db")
    from coaches.demo import ensure_managed_lists

    ensure_managed_lists()
