"""Personal data is masked in the log output that usine's logging setup produces."""

import io
import logging
from collections.abc import Iterator

import pytest

from usine import log_privacy

IBAN_SPACED = "FR76 3000 6000 0112 3456 7890 189"
IBAN = "DE89370400440532013000"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """A handler on the root logger, as ``usine`` and uvicorn configure them, with usine's filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    log_privacy.install()
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def test_ibans_names_addresses_and_emails_never_reach_the_log_in_clear(output: io.StringIO) -> None:
    log = logging.getLogger("usine.claims")
    log.warning("bank details of %s: %s", "M. Jean Dupont", IBAN_SPACED)
    log.warning("extracted %s", {"holder": "Marie Curie", "iban": IBAN, "street": "12 rue des Lilas"})
    log.error("supplier at 4 bis avenue Victor Hugo, 75016 Paris, contact compta@fournisseur.fr")
    log.info("not shown: below the level")
    text = output.getvalue()
    secrets = ("Jean", "Dupont", "Marie", "Curie", "3000 6000", "370400440532013000", "Lilas", "Victor")
    for secret in (*secrets, "Hugo", "75016", "Paris", "compta@"):
        assert secret not in text, secret
    assert "FR76" in text  # the country and check digits stay, to tell what was masked
    assert "bank details of M. ***" in text
    assert len(text.splitlines()) == 3


def test_an_exception_message_is_masked_too(output: io.StringIO) -> None:
    try:
        raise ValueError(f"invalid IBAN {IBAN} for holder=Anne Martin")
    except ValueError:
        logging.getLogger("usine.api").exception("failed")
    text = output.getvalue()
    assert "ValueError" in text
    assert "0532013000" not in text
    assert "Anne Martin" not in text


def test_ordinary_messages_are_left_as_they_are(output: io.StringIO) -> None:
    logging.getLogger("usine.serving").warning("serving credit version 12 (champion), 1000 rows in 58 ms")
    assert "serving credit version 12 (champion), 1000 rows in 58 ms" in output.getvalue()
