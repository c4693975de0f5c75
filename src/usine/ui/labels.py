"""The review page's words in French and English, and how a request picks its language."""

from __future__ import annotations

LANGUAGES = ("fr", "en")

FIELDS: dict[str, dict[str, str]] = {
    "fr": {
        "invoice": "Facture",
        "invoice.number": "Numéro",
        "invoice.date": "Date",
        "invoice.currency": "Devise",
        "invoice.total_excl_tax": "Total HT",
        "invoice.vat_amount": "Montant TVA",
        "invoice.vat_rate": "Taux TVA (%)",
        "invoice.total_incl_tax": "Total TTC",
        "address": "Fournisseur",
        "address.name": "Raison sociale",
        "address.siret": "SIRET",
        "address.siren": "SIREN",
        "address.vat_number": "N° TVA intracommunautaire",
        "address.street": "Adresse",
        "address.postcode": "Code postal",
        "address.city": "Ville",
        "address.country": "Pays",
        "bank_details": "Coordonnées bancaires",
        "bank_details.iban": "IBAN",
        "bank_details.bic": "BIC",
        "bank_details.holder": "Titulaire",
    },
    "en": {
        "invoice": "Invoice",
        "invoice.number": "Number",
        "invoice.date": "Date",
        "invoice.currency": "Currency",
        "invoice.total_excl_tax": "Total excl. tax",
        "invoice.vat_amount": "VAT amount",
        "invoice.vat_rate": "VAT rate (%)",
        "invoice.total_incl_tax": "Total incl. tax",
        "address": "Supplier",
        "address.name": "Name",
        "address.siret": "SIRET",
        "address.siren": "SIREN",
        "address.vat_number": "VAT number",
        "address.street": "Street",
        "address.postcode": "Postcode",
        "address.city": "City",
        "address.country": "Country",
        "bank_details": "Bank details",
        "bank_details.iban": "IBAN",
        "bank_details.bic": "BIC",
        "bank_details.holder": "Account holder",
    },
}

TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Revue des pièces de sinistre",
        "api_key": "Clé d'API",
        "entity": "Entité",
        "customer": "Client",
        "contract": "Contrat",
        "files": "Déposez les pièces ici ou choisissez-les",
        "extract": "Extraire",
        "extracting": "Extraction en cours…",
        "check_first": "À vérifier d'abord",
        "confidence": "confiance",
        "page": "Page",
        "save": "Enregistrer",
        "saved": "Enregistré",
        "refused": "Pièce refusée",
        "claims": "Sinistres enregistrés du contrat",
        "no_claims": "Aucun sinistre enregistré pour ce contrat.",
        "saved_at": "Enregistré le",
        "used_as_is": "Repris tel quel",
        "changed": "Champs corrigés",
        "load_claims": "Afficher les sinistres",
        "enter_hint": "Entrée valide un champ et passe au suivant.",
        "error": "Erreur",
        "iban_checksum": "clé IBAN invalide",
        "bic_invalid": "BIC invalide",
        "totals_do_not_add_up": "HT + TVA ≠ TTC",
        "siret_checksum": "SIRET invalide",
        "siren_checksum": "SIREN invalide",
        "vat_number_checksum": "N° TVA invalide",
    },
    "en": {
        "title": "Claim documents review",
        "api_key": "API key",
        "entity": "Entity",
        "customer": "Customer",
        "contract": "Contract",
        "files": "Drop the documents here or choose them",
        "extract": "Extract",
        "extracting": "Extracting…",
        "check_first": "Check first",
        "confidence": "confidence",
        "page": "Page",
        "save": "Save",
        "saved": "Saved",
        "refused": "Document refused",
        "claims": "Saved claims of the contract",
        "no_claims": "No claim saved for this contract.",
        "saved_at": "Saved at",
        "used_as_is": "Used as is",
        "changed": "Corrected fields",
        "load_claims": "Show claims",
        "enter_hint": "Enter accepts a field and moves to the next one.",
        "error": "Error",
        "iban_checksum": "IBAN checksum fails",
        "bic_invalid": "invalid BIC",
        "totals_do_not_add_up": "excl. tax + VAT ≠ incl. tax",
        "siret_checksum": "invalid SIRET",
        "siren_checksum": "invalid SIREN",
        "vat_number_checksum": "invalid VAT number",
    },
}


def pick_language(query: str | None, accept_language: str | None) -> str:
    """The page's language.

    ``?lang=`` when the page has it, else the browser's preferred language that the page has
    (``Accept-Language``, by quality), else French.

    Args:
        query: the ``lang`` query parameter.
        accept_language: the ``Accept-Language`` header.

    """
    if query in LANGUAGES:
        return query
    offers: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, parameters = part.partition(";")
        name, _, value = parameters.strip().partition("=")
        try:
            quality = float(value) if name.strip() == "q" else 1.0
        except ValueError:
            quality = 0.0
        offers.append((-quality, position, tag.strip().split("-")[0].lower()))
    for negative_quality, _, language in sorted(offers):
        if language in LANGUAGES and negative_quality < 0:
            return language
    return "fr"
