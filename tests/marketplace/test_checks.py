"""The Stripe system checks: the local Stripe's public key and signing secrets never sit
beside a real key, and the local Stripe is served with DEBUG off only when asked for."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from marketplace.checks import stripe_configuration, stripe_key_livemode

# Shaped like Stripe's, never valid: the checks call no API.
REAL_LOOKING_KEY = "sk_" + "test_" + "0" * 24
PROPER_WEBHOOK_SECRET = "whsec_" + "1" * 32
PROPER_CONNECT_WEBHOOK_SECRET = "whsec_" + "2" * 32


@pytest.fixture
def real_stripe(settings):
    """Settings as production with real Stripe has them, all proper."""
    settings.DEBUG = False
    settings.STRIPE_SECRET_KEY = REAL_LOOKING_KEY
    settings.STRIPE_SANDBOX = False
    settings.STRIPE_SANDBOX_REQUESTED = False
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_WEBHOOK_SECRETS = [PROPER_WEBHOOK_SECRET]
    settings.STRIPE_CONNECT_WEBHOOK_SECRETS = [PROPER_CONNECT_WEBHOOK_SECRET]
    return settings


def _ids() -> list[str]:
    return [error.id for error in stripe_configuration()]


def test_proper_secrets_beside_a_real_key_pass(real_stripe):
    assert stripe_configuration() == []


def test_the_repository_signing_secrets_are_refused_beside_a_real_key(real_stripe):
    # given
    real_stripe.STRIPE_WEBHOOK_SECRETS = ["whsec_local_platform"]
    real_stripe.STRIPE_CONNECT_WEBHOOK_SECRETS = ["whsec_local_connect"]
    # when
    errors = stripe_configuration()
    # then
    assert [error.id for error in errors] == ["marketplace.E001", "marketplace.E001"]
    assert "STRIPE_WEBHOOK_SECRETS holds the local Stripe's" in errors[0].msg
    assert "STRIPE_CONNECT_WEBHOOK_SECRETS holds the local Stripe's" in errors[1].msg
    assert all(error.hint and error.is_serious() for error in errors)


def test_either_endpoint_with_the_other_endpoints_repository_secret_is_refused(real_stripe):
    real_stripe.STRIPE_CONNECT_WEBHOOK_SECRETS = ["whsec_local_platform"]
    assert _ids() == ["marketplace.E001"]


def test_empty_signing_secrets_are_refused_beside_a_real_key(real_stripe):
    real_stripe.STRIPE_WEBHOOK_SECRETS = []
    real_stripe.STRIPE_CONNECT_WEBHOOK_SECRETS = []
    errors = stripe_configuration()
    assert [error.id for error in errors] == ["marketplace.E001", "marketplace.E001"]
    assert "STRIPE_WEBHOOK_SECRETS is empty" in errors[0].msg


def test_the_local_stripes_own_key_is_refused_as_stripe_secret_key(real_stripe):
    real_stripe.STRIPE_SECRET_KEY = real_stripe.STRIPE_SANDBOX_SECRET_KEY
    assert _ids() == ["marketplace.E002"]


@pytest.mark.parametrize(
    "key", ["rk_test_local_sandbox", "sk_live_local_sandbox", "rk_live_local_sandbox"]
)
def test_every_one_of_the_local_stripes_keys_is_refused(real_stripe, key):
    real_stripe.STRIPE_SECRET_KEY = key
    assert _ids() == ["marketplace.E002"]


@pytest.mark.parametrize("key", ["rk_" + "live_" + "0" * 24, "rk_" + "test_" + "0" * 24])
def test_a_restricted_key_passes_as_a_secret_key_does(real_stripe, key):
    real_stripe.STRIPE_SECRET_KEY = key
    assert stripe_configuration() == []


@pytest.mark.parametrize("key", ["pk_" + "live_" + "0" * 24, "sk_" + "0" * 24, "rk_live_"])
def test_a_key_that_is_neither_secret_nor_restricted_is_refused(real_stripe, key):
    real_stripe.STRIPE_SECRET_KEY = key
    errors = stripe_configuration()
    assert [error.id for error in errors] == ["marketplace.E007"]
    assert "neither a secret key" in errors[0].msg


def test_a_rotation_list_passes_and_one_repository_secret_in_it_is_refused(real_stripe):
    real_stripe.STRIPE_WEBHOOK_SECRETS = [PROPER_WEBHOOK_SECRET, "whsec_" + "3" * 32]
    assert stripe_configuration() == []
    real_stripe.STRIPE_WEBHOOK_SECRETS = [PROPER_WEBHOOK_SECRET, "whsec_local_connect"]
    assert _ids() == ["marketplace.E001"]


@pytest.mark.parametrize(
    ("key", "livemode"),
    [
        ("sk_live_abc", True),
        ("rk_live_abc", True),
        ("sk_test_abc", False),
        ("rk_test_abc", False),
        ("pk_live_abc", None),
        ("", None),
    ],
)
def test_a_keys_mode_is_read_from_its_prefix(key, livemode):
    assert stripe_key_livemode(key) is livemode


def test_the_local_stripes_api_base_is_refused_beside_a_real_key(real_stripe):
    real_stripe.STRIPE_API_BASE = "https://coach.example.com/_stripe/"
    assert _ids() == ["marketplace.E003"]


def test_a_real_key_and_stripe_sandbox_true_together_are_refused(real_stripe):
    real_stripe.STRIPE_SANDBOX = True
    real_stripe.STRIPE_SANDBOX_REQUESTED = True
    assert _ids() == ["marketplace.E005"]


def test_the_local_stripe_with_debug_off_is_refused_unless_asked_for(settings):
    # given: no key, so the local Stripe; DEBUG off; STRIPE_SANDBOX not set
    settings.DEBUG = False
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_SANDBOX = True
    settings.STRIPE_SANDBOX_REQUESTED = False
    # then
    assert _ids() == ["marketplace.E004"]
    # and STRIPE_SANDBOX=true asks for it
    settings.STRIPE_SANDBOX_REQUESTED = True
    assert _ids() == []


def test_the_local_stripe_in_development_needs_no_asking(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_SANDBOX = True
    settings.STRIPE_SANDBOX_REQUESTED = False
    assert _ids() == []


def test_no_key_and_no_local_stripe_is_refused(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_SANDBOX = False
    assert _ids() == ["marketplace.E006"]


def test_the_test_settings_pass():
    assert stripe_configuration() == []


def test_manage_py_check_runs_the_stripe_checks(real_stripe):
    # given
    real_stripe.STRIPE_WEBHOOK_SECRETS = ["whsec_local_platform"]
    # when / then
    with pytest.raises(SystemCheckError, match=r"marketplace\.E001"):
        call_command("check", "--deploy")
