"""Forms of the community pages (the API has its own serializers).

``DigestPreferenceForm`` is the community's part of a person's notification preferences:
an account settings page can include it (``instance`` from
``services.notifications.digest_preference_for``), as the community's own page does.
"""

from __future__ import annotations

from django import forms

from coaches.models import Specialization
from marketplace.fields import ROW_ID_MAX
from messaging.community.models import (
    BODY_MAX_LENGTH,
    GROUP_DESCRIPTION_MAX_LENGTH,
    GROUP_NAME_MAX_LENGTH,
    GROUP_RULES_MAX_LENGTH,
    MAX_DISCUSSION_IMAGES,
    REASON_MAX_LENGTH,
    REPLY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    DigestPreference,
    GroupAccess,
)

IMAGE_ACCEPT = "image/jpeg,image/png,image/gif,image/webp"


class DigestPreferenceForm(forms.ModelForm):
    """How often community notifications are e-mailed: immediately, daily or never."""

    prefix = "community"

    class Meta:
        model = DigestPreference
        fields = ["frequency"]
        labels = {"frequency": "E-mail me about community notifications"}
        help_texts = {
            "frequency": "Replies to your discussions, mentions and discussions you follow. "
            "Every e-mail has a one-click unsubscribe link."
        }
        widgets = {"frequency": forms.RadioSelect}


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Up to four images in one input; each is checked by content by the service."""

    widget = MultipleImageInput

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": IMAGE_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            files = [single(item, initial) for item in data if item]
        else:
            files = [single(data, initial)] if data else []
        if len(files) > MAX_DISCUSSION_IMAGES:
            raise forms.ValidationError(f"Attach at most {MAX_DISCUSSION_IMAGES} images.")
        return files


class GroupForm(forms.Form):
    name = forms.CharField(max_length=GROUP_NAME_MAX_LENGTH)
    description = forms.CharField(
        required=False,
        max_length=GROUP_DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    rules = forms.CharField(
        required=False,
        max_length=GROUP_RULES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Shown to everyone who may see the group, and to people before they join.",
    )
    access = forms.ChoiceField(
        choices=GroupAccess.choices,
        initial=GroupAccess.OPEN,
        widget=forms.RadioSelect,
        label="Who may join",
    )
    specialization = forms.ModelChoiceField(
        queryset=Specialization.objects.all(), required=False, label="Specialisation"
    )
    cover = forms.FileField(
        required=False,
        label="Cover image (JPEG, PNG, GIF or WebP, up to 10 MB)",
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
    )


class DiscussionForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX_LENGTH)
    body = forms.CharField(
        label="Text",
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown: **bold**, *italic*, lists, > quotes, links. Mention a member "
        "with @handle.",
    )
    images = MultipleImageField(
        required=False, label=f"Images (up to {MAX_DISCUSSION_IMAGES}, 10 MB each)"
    )


class DiscussionEditForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX_LENGTH)
    body = forms.CharField(
        label="Text", max_length=BODY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 8})
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        max_length=REPLY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    quote_of = forms.IntegerField(
        required=False, min_value=1, max_value=ROW_ID_MAX, widget=forms.HiddenInput
    )


class ReplyEditForm(forms.Form):
    body = forms.CharField(
        label="Text", max_length=REPLY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))


class ModerateForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("hide", "Hide"),
            ("restore", "Restore"),
            ("remove", "Remove"),
        ]
    )
    reason = forms.CharField(required=False, max_length=REASON_MAX_LENGTH)


class MemberActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("ban", "Ban"),
            ("unban", "Lift the ban"),
            ("warn", "Warn"),
            ("moderator", "Make moderator"),
            ("member", "Make member"),
        ]
    )
    reason = forms.CharField(required=False, max_length=REASON_MAX_LENGTH)


class InviteForm(forms.Form):
    user = forms.IntegerField(min_value=1, max_value=ROW_ID_MAX, label="Client")


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search discussions")
