import zoneinfo

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.core import validators

from marketplace.models import EmailKind, Role, User

FULL_NAME_MAX_LENGTH = 150
PASSWORD_MAX_LENGTH = 4096


class SignupForm(AllauthSignupForm):
    first_name = forms.CharField(max_length=150, label="First name")
    last_name = forms.CharField(max_length=150, label="Last name")
    role = forms.ChoiceField(
        choices=[(Role.CLIENT, "I want to book coaching"), (Role.COACH, "I am a coach")],
        widget=forms.RadioSelect,
        initial=Role.CLIENT,
        label="What brings you here?",
    )
    field_order = ["first_name", "last_name", "email", "password1", "password2", "role"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # allauth's fields are longer than what they fill: the e-mail column has 254
        # characters; a password is hashed, but a megabyte of one is not a password.
        for name, limit in (
            ("email", User._meta.get_field("email").max_length),
            ("password1", PASSWORD_MAX_LENGTH),
            ("password2", PASSWORD_MAX_LENGTH),
        ):
            field = self.fields.get(name)
            if field is not None and limit:
                field.max_length = limit
                field.validators.append(validators.MaxLengthValidator(limit))
                field.widget.attrs["maxlength"] = str(limit)

    def clean(self):
        cleaned = super().clean()
        # The full name ("first last") fills 150-character columns (a coach's application).
        first, last = cleaned.get("first_name") or "", cleaned.get("last_name") or ""
        if len(first) + len(last) > FULL_NAME_MAX_LENGTH - 1:
            self.add_error(
                "last_name",
                f"First and last name together can have at most {FULL_NAME_MAX_LENGTH - 1} "
                "characters.",
            )
        return cleaned

    def save(self, request):
        user = super().save(request)
        user.first_name = self.cleaned_data["first_name"]
        user.last_name = self.cleaned_data["last_name"]
        user.role = self.cleaned_data["role"]
        user.save(update_fields=["first_name", "last_name", "role"])
        return user


def time_zone_choices() -> list[tuple[str, str]]:
    """Every zone of the zone database, by name ("Europe/Berlin"), UTC first."""
    names = sorted(zoneinfo.available_timezones() - {"UTC", "localtime", "Factory"})
    return [("UTC", "UTC"), *((name, name.replace("_", " ")) for name in names)]


class ProfileForm(forms.Form):
    first_name = forms.CharField(max_length=150, label="First name")
    last_name = forms.CharField(max_length=150, label="Last name")
    time_zone = forms.ChoiceField(
        label="Time zone",
        help_text="Pages, e-mails and receipts show times in this zone.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices()  # type: ignore[attr-defined]

    def clean(self):
        cleaned = super().clean() or {}
        first, last = cleaned.get("first_name") or "", cleaned.get("last_name") or ""
        if len(first) + len(last) > FULL_NAME_MAX_LENGTH - 1:
            self.add_error(
                "last_name",
                f"First and last name together can have at most {FULL_NAME_MAX_LENGTH - 1} "
                "characters.",
            )
        return cleaned


class EmailPreferencesForm(forms.Form):
    """One checkbox per optional e-mail (``EmailKind``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for kind in EmailKind:
            self.fields[kind.value] = forms.BooleanField(required=False, label=kind.label)
