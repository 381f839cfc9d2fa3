from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms

from marketplace.models import Role


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

    def save(self, request):
        user = super().save(request)
        user.first_name = self.cleaned_data["first_name"]
        user.last_name = self.cleaned_data["last_name"]
        user.role = self.cleaned_data["role"]
        user.save(update_fields=["first_name", "last_name", "role"])
        return user
