"""Render the review page for one language."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from usine.ui.labels import FIELDS, LANGUAGES, TEXT

LOW_CONFIDENCE = 0.6
"""A found value below this confidence is listed first and highlighted for the handler."""

_environment = Environment(
    loader=PackageLoader("usine.ui", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_claims_page(lang: str, prefill: dict[str, str], static: str) -> str:
    """The review page in ``lang``, with the contract fields pre-filled.

    Args:
        lang: one of :data:`usine.ui.labels.LANGUAGES`.
        prefill: ``uom_code``, ``customer_id`` and ``contract_id`` to show (may be empty).
        static: URL path where claims.js and claims.css are served.

    """
    labels = {"fields": FIELDS[lang], "text": TEXT[lang], "low_confidence": LOW_CONFIDENCE}
    return _environment.get_template("claims.html.j2").render(
        lang=lang,
        languages=LANGUAGES,
        text=TEXT[lang],
        fields=FIELDS[lang],
        labels=labels,
        prefill=prefill,
        static=static,
    )
