"""Notifications delivered to a real local webhook receiver and a real local SMTP server."""

from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from support import free_port, webhook_receiver
from usine.adapters.notify import Email, Notification, Webhook, deliver
from usine.services.notifications import notified

DONE = Notification("batch credit", succeeded=True, facts={"rows": "10 in, 8 scored, 2 rejected"})


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with webhook_receiver() as receiver:
        yield receiver


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, Mailbox]]:
    """A local SMTP server keeping what it receives."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield f"smtp://127.0.0.1:{controller.port}", mailbox
    controller.stop()


def test_the_webhook_gets_a_text_chat_tools_display_and_the_structured_facts(
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = webhook
    assert deliver([Webhook(url)], DONE) == []
    assert received == [
        {
            "text": "✅ batch credit\nrows: 10 in, 8 scored, 2 rejected",
            "usine": {"subject": "batch credit", "succeeded": True, "facts": DONE.facts},
        }
    ]


def test_an_email_reaches_every_recipient_with_the_outcome_in_its_subject(smtp: tuple[str, Mailbox]) -> None:
    url, mailbox = smtp
    failed = Notification("train credit", succeeded=False, facts={"error": "AUC 0.61 < 0.70"})
    assert deliver([Email(url, "usine@bank.example", ["a@bank.example", "b@bank.example"])], failed) == []
    [(recipients, message)] = mailbox.messages
    assert recipients == ["a@bank.example", "b@bank.example"]
    assert message["Subject"] == "[usine FAILED] train credit"
    assert "error: AUC 0.61 < 0.70" in message.get_payload(decode=True).decode()


def test_an_unreachable_channel_is_reported_not_raised(webhook: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = webhook
    dead = Webhook(f"http://127.0.0.1:{free_port()}/nobody", timeout_s=5)
    failures = deliver([dead, Webhook(url)], DONE)
    assert len(failures) == 1
    assert failures[0].startswith("Webhook:")
    assert len(received) == 1


def test_a_failing_job_is_notified_with_its_error_and_still_raises(
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = webhook

    def job() -> None:
        with notified([Webhook(url)], "batch credit") as facts:
            facts["rows"] = "10 in"
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        job()
    assert received[0]["usine"] == {
        "subject": "batch credit",
        "succeeded": False,
        "facts": {"rows": "10 in", "error": "disk full"},
    }


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Webhook("file:///etc/passwd"), "http"),
        (lambda: Email("http://mail", "a@b", ["c@d"]), "smtp://"),
        (lambda: Email("smtp://mail", "a@b", []), "recipient"),
    ],
)
def test_malformed_channels_are_refused(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
