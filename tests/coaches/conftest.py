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
