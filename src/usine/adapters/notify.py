"""Notifications of finished jobs: a JSON webhook (Slack, Teams, Mattermost style) and e-mail.

A notification that cannot be delivered is logged and reported to the caller, never raised:
a batch run that scored every row must not fail because the chat server was down.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """What happened: a one-line subject, success or failure, and the facts that matter."""

    subject: str
    succeeded: bool
    facts: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The message as a person reads it: a status mark, the subject, then one fact a line."""
        mark = "✅" if self.succeeded else "❌"
        lines = [f"{mark} {self.subject}", *(f"{key}: {value}" for key, value in self.facts.items())]
        return "\n".join(lines)


class Channel(Protocol):
    """One way to deliver a notification."""

    def send(self, notification: Notification) -> None:
        """Deliver, or raise ``OSError`` (network) / ``smtplib.SMTPException``."""
        ...


class Webhook:
    """POSTs ``{"text": …, "usine": {…}}``: the ``text`` field is what Slack and Teams display.

    Args:
        url: an http(s) URL.
        timeout_s: bound on the whole request.

    Raises:
        ValueError: the URL is not http or https.

    """

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"a webhook URL is http(s), not {url!r}")
        self.url = url
        self.timeout_s = timeout_s

    def send(self, notification: Notification) -> None:
        """POST the notification as JSON."""
        body = {
            "text": notification.text(),
            "usine": {
                "subject": notification.subject,
                "succeeded": notification.succeeded,
                "facts": notification.facts,
            },
        }
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self.url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310  # nosec B310
            response.read()


class Email:
    """Sends a plain-text e-mail through an SMTP relay (``smtp://host:port``, STARTTLS if offered).

    Args:
        url: ``smtp://host[:port]``.
        sender: the From address.
        recipients: the To addresses.
        timeout_s: bound on each SMTP exchange.

    """

    def __init__(self, url: str, sender: str, recipients: list[str], timeout_s: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "smtp" or not parts.hostname:
            raise ValueError(f"an SMTP relay is smtp://host[:port], not {url!r}")
        if not recipients:
            raise ValueError("an e-mail notification needs at least one recipient")
        self.host = parts.hostname
        self.port = parts.port or 25
        self.sender = sender
        self.recipients = recipients
        self.timeout_s = timeout_s

    def send(self, notification: Notification) -> None:
        """Send the notification as one e-mail to every recipient."""
        message = EmailMessage()
        message["Subject"] = (
            "[usine] " if notification.succeeded else "[usine FAILED] "
        ) + notification.subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(notification.text())
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as relay:
            relay.ehlo()
            if relay.has_extn("starttls"):
                relay.starttls()
            relay.send_message(message)


def deliver(channels: list[Channel], notification: Notification) -> list[str]:
    """Send ``notification`` on every channel; returns the failures, each logged as a warning."""
    failures = []
    for channel in channels:
        try:
            channel.send(notification)
        except (OSError, smtplib.SMTPException) as exc:
            failures.append(f"{type(channel).__name__}: {exc}")
            logger.warning("notification %r not delivered by %s: %s", notification.subject, channel, exc)
    return failures
