"""Development e-mail: printed on the console and kept in ``SentMail`` for /dev/mail/."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleBackend


class DevInboxBackend(ConsoleBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from marketplace.models import SentMail

        sent = super().send_messages(email_messages)
        for message in email_messages:
            html = ""
            for alternative in getattr(message, "alternatives", []):
                content, mimetype = alternative
                if mimetype == "text/html":
                    html = str(content)
            attachments = []
            for attachment in message.attachments:
                if isinstance(attachment, tuple):
                    filename, content, mimetype = attachment
                    attachments.append(
                        {
                            "filename": filename,
                            "mimetype": mimetype,
                            "content": content.decode() if isinstance(content, bytes) else content,
                        }
                    )
            SentMail.objects.create(
                to=", ".join(message.to),
                subject=str(message.subject),
                body=str(message.body),
                html_body=html,
                attachments=attachments,
            )
        return sent
