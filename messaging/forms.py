"""Forms of the messaging pages (the API has its own serializers)."""

from __future__ import annotations

from django import forms

from marketplace.fields import ROW_ID_MAX
from messaging.models import BODY_MAX_LENGTH


class StartThreadForm(forms.Form):
    coach = forms.IntegerField(required=False, min_value=1, max_value=ROW_ID_MAX)
    booking = forms.IntegerField(required=False, min_value=1, max_value=ROW_ID_MAX)

    def clean(self):
        cleaned = super().clean() or {}
        if not cleaned.get("coach") and not cleaned.get("booking"):
            raise forms.ValidationError("Choose a coach or a booking to talk about.")
        return cleaned


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message",
        required=False,
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": BODY_MAX_LENGTH}),
    )
    attachment = forms.FileField(
        label="Attachment (image or PDF, up to 10 MB)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )


class ReportForm(forms.Form):
    reason = forms.CharField(
        label="What is wrong with this message?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 1000}),
    )
