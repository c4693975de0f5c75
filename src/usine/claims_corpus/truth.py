"""The content of one synthetic claim document: who bills what, and the ground truth to extract.

Everything is drawn from a :class:`random.Random`, so a seed gives the same documents on
every machine. Company numbers carry valid check digits (python-stdnum) and IBANs are valid
French IBANs (schwifty), except where a document is drawn with a deliberate error for the
validation checks to catch.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from schwifty import IBAN
from stdnum import luhn
from stdnum.fr import siret as siret_number

CENT = Decimal("0.01")

CITIES = (
    ("75011", "Paris"),
    ("69003", "Lyon"),
    ("13008", "Marseille"),
    ("31000", "Toulouse"),
    ("33000", "Bordeaux"),
    ("44000", "Nantes"),
    ("59000", "Lille"),
    ("67000", "Strasbourg"),
    ("34000", "Montpellier"),
    ("35000", "Rennes"),
    ("06000", "Nice"),
    ("38000", "Grenoble"),
    ("21000", "Dijon"),
    ("49100", "Angers"),
    ("37000", "Tours"),
    ("63000", "Clermont-Ferrand"),
    ("76000", "Rouen"),
    ("51100", "Reims"),
    ("87000", "Limoges"),
    ("29200", "Brest"),
    ("64000", "Pau"),
    ("74000", "Annecy"),
    ("80000", "Amiens"),
    ("45000", "Orléans"),
)
STREET_KINDS = ("rue", "avenue", "boulevard", "chemin", "allée", "place", "impasse", "route")
STREET_NAMES = (
    "des Lilas",
    "Victor Hugo",
    "de la République",
    "Jean Jaurès",
    "du Général Leclerc",
    "des Acacias",
    "Pasteur",
    "de la Gare",
    "des Tilleuls",
    "du Moulin",
    "Gambetta",
    "de Verdun",
    "des Écoles",
    "Carnot",
    "de Strasbourg",
    "Émile Zola",
)
SURNAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "Fournier",
    "Girard",
    "Bonnet",
    "Rousseau",
    "Blanc",
)
FIRST_NAMES = ("Marie", "Jean", "Sophie", "Pierre", "Claire", "Luc", "Julie", "Marc", "Anne", "Paul")
BANKS = (
    ("30004", "BNPAFRPPXXX"),
    ("30003", "SOGEFRPP"),
    ("30002", "CRLYFRPP"),
    ("10278", "CMCIFR2A"),
    ("18206", "AGRIFRPP882"),
    ("10107", "BREDFRPPXXX"),
    ("20041", "PSSTFRPPPAR"),
)

KINDS = ("garage", "windscreen", "medical", "veterinary")
SUPPLIER_PATTERNS = {
    "garage": (
        "Garage {s}",
        "Garage du Centre {s}",
        "Carrosserie {s}",
        "Auto Service {s}",
        "Mécanique {s} SARL",
    ),
    "windscreen": ("Pare-Brise {s}", "Vitrage Auto {s}", "{s} Glass Services", "Rapid Pare-Brise {c}"),
    "medical": ("Dr {f} {s}", "Cabinet Médical {s}", "Centre de Santé {c}", "Kinésithérapie {s}"),
    "veterinary": ("Clinique Vétérinaire {s}", "Cabinet Vétérinaire {c}", "Dr Vétérinaire {f} {s}"),
}
ITEMS = {
    "garage": (
        ("Plaquettes de frein avant", 45, 120),
        ("Disques de frein", 60, 180),
        ("Vidange moteur", 40, 90),
        ("Filtre à huile", 8, 25),
        ("Main d'oeuvre", 45, 75),
        ("Pare-choc avant", 150, 420),
        ("Peinture carrosserie", 200, 650),
        ("Rétroviseur droit", 60, 210),
        ("Diagnostic électronique", 40, 95),
        ("Courroie de distribution", 180, 520),
    ),
    "windscreen": (
        ("Pare-brise feuilleté", 250, 780),
        ("Pose pare-brise", 80, 160),
        ("Réparation impact", 50, 110),
        ("Joint de pare-brise", 20, 60),
        ("Calibrage caméra ADAS", 90, 230),
        ("Kit de collage", 15, 45),
    ),
    "medical": (
        ("Consultation", 25, 60),
        ("Radiographie", 40, 120),
        ("Séance de rééducation", 30, 55),
        ("Soins infirmiers", 15, 40),
        ("Échographie", 55, 130),
        ("Bilan sanguin", 20, 90),
    ),
    "veterinary": (
        ("Consultation vétérinaire", 35, 70),
        ("Vaccin", 40, 85),
        ("Radiographie", 60, 140),
        ("Suture plaie", 70, 220),
        ("Hospitalisation (jour)", 50, 120),
        ("Médicaments", 10, 80),
    ),
}
VAT_RATES = {
    "garage": (Decimal("20"),),
    "windscreen": (Decimal("20"),),
    "medical": (Decimal("0"), Decimal("20"), Decimal("10")),
    "veterinary": (Decimal("20"), Decimal("10")),
}


@dataclass(frozen=True)
class Item:
    """One billed line."""

    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        """Quantity times unit price, to the cent."""
        return (self.quantity * self.unit_price).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Party:
    """A supplier or customer with a postal address."""

    name: str
    street: str
    postcode: str
    city: str


@dataclass(frozen=True)
class Claim:
    """Everything one document prints, and what an extractor should return."""

    kind: str
    supplier: Party
    customer: Party
    siren: str
    siret: str
    vat_number: str
    iban: str
    bic: str
    holder: str
    number: str
    date: dt.date
    due_date: dt.date
    service_date: dt.date
    items: tuple[Item, ...]
    vat_rate: Decimal
    total_excl_tax: Decimal
    vat_amount: Decimal
    total_incl_tax: Decimal
    wrong_total: bool = False
    wrong_iban: bool = False
    extras: dict[str, str] = field(default_factory=dict)

    def item_truth(self, printed: Collection[str]) -> tuple[dict[str, str | None], ...]:
        """The billed lines as the evaluation compares them; a fact not in ``printed`` is ``None``."""
        return tuple(
            {
                name: value if name in printed else None
                for name, value in (
                    ("description", item.description),
                    ("quantity", str(item.quantity)),
                    ("unit_price", str(item.unit_price)),
                    ("amount", str(item.amount)),
                )
            }
            for item in self.items
        )

    def truth(self) -> dict[str, str | None]:
        """The ground truth, one string per field, as the evaluation compares it."""
        return {
            "invoice.number": self.number,
            "invoice.date": self.date.isoformat(),
            "invoice.currency": "EUR",
            "invoice.total_excl_tax": str(self.total_excl_tax),
            "invoice.vat_amount": str(self.vat_amount),
            "invoice.vat_rate": str(self.vat_rate),
            "invoice.total_incl_tax": str(self.total_incl_tax),
            "address.name": self.supplier.name,
            "address.siret": self.siret,
            "address.siren": self.siren,
            "address.vat_number": self.vat_number,
            "address.street": self.supplier.street,
            "address.postcode": self.supplier.postcode,
            "address.city": self.supplier.city,
            "address.country": "FR",
            "bank_details.iban": self.iban,
            "bank_details.bic": self.bic,
            "bank_details.holder": self.holder,
        }


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _party(rng: random.Random, name: str) -> Party:
    postcode, city = rng.choice(CITIES)
    street = f"{rng.randint(1, 180)} {rng.choice(STREET_KINDS)} {rng.choice(STREET_NAMES)}"
    return Party(name=name, street=street, postcode=postcode, city=city)


def _company_numbers(rng: random.Random) -> tuple[str, str, str]:
    base = str(rng.randint(1, 9)) + _digits(rng, 7)
    siren = base + luhn.calc_check_digit(base)
    nic = "000" + str(rng.randint(1, 9))
    siret = siren + nic + luhn.calc_check_digit(siren + nic)
    return siren, siret, "FR" + siret_number.to_tva(siret)


def _iban(rng: random.Random, wrong: bool) -> tuple[str, str]:
    bank, bic = rng.choice(BANKS)
    iban = IBAN.generate("FR", bank_code=bank, branch_code=_digits(rng, 5), account_code=_digits(rng, 11))
    compact = str(iban.compact)
    if wrong:  # one mistyped digit of the account: the checksum no longer matches
        position = rng.randint(14, len(compact) - 3)
        digit = str((int(compact[position]) + rng.randint(1, 9)) % 10)
        compact = compact[:position] + digit + compact[position + 1 :]
    return compact, bic


def _invoice_number(rng: random.Random, year: int) -> str:
    pattern = rng.randrange(5)
    if pattern == 0:
        return f"FA-{year}-{_digits(rng, 5)}"
    if pattern == 1:
        return f"{year}/{_digits(rng, 4)}"
    if pattern == 2:
        return f"F{_digits(rng, 6)}"
    if pattern == 3:
        return f"{rng.choice(('GAR', 'FAC', 'NH', 'VET'))}{_digits(rng, 2)}-{_digits(rng, 4)}"
    return f"{_digits(rng, 2)}{rng.choice('ABCDEFGH')}{_digits(rng, 5)}"


def draw_claim(rng: random.Random, kind: str | None = None, error_rate: float = 0.1) -> Claim:
    """One random claim document's content.

    Args:
        rng: the source of randomness (seeded by the caller).
        kind: garage, windscreen, medical or veterinary; random when ``None``.
        error_rate: share of documents with a wrong total or a mistyped IBAN (each).

    """
    kind = kind or rng.choice(KINDS)
    surname = rng.choice(SURNAMES)
    first = rng.choice(FIRST_NAMES)
    supplier_name = rng.choice(SUPPLIER_PATTERNS[kind]).format(s=surname, f=first, c=rng.choice(CITIES)[1])
    supplier = _party(rng, supplier_name)
    customer_surname = rng.choice([s for s in SURNAMES if s != surname])
    customer = _party(rng, f"{rng.choice(('M.', 'Mme'))} {rng.choice(FIRST_NAMES)} {customer_surname}")
    siren, siret, vat_number = _company_numbers(rng)
    wrong_iban = rng.random() < error_rate
    iban, bic = _iban(rng, wrong_iban)
    holder = rng.choice((supplier_name, supplier_name.upper(), f"{first} {surname}"))
    date = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(365))
    count = rng.randint(1, 6)
    catalogue = rng.sample(ITEMS[kind], k=min(count, len(ITEMS[kind])))
    items = []
    for description, low, high in catalogue:
        quantity = Decimal(rng.choice((1, 1, 1, 2, 3, 4)))
        price = Decimal(rng.randint(low * 100, high * 100)) / 100
        items.append(Item(description=description, quantity=quantity, unit_price=price))
    rate = rng.choice(VAT_RATES[kind])
    excl = sum((i.amount for i in items), Decimal("0.00"))
    vat = (excl * rate / 100).quantize(CENT, ROUND_HALF_UP)
    incl = excl + vat
    wrong_total = rng.random() < error_rate
    if wrong_total:
        incl += Decimal(rng.choice((1, 10, 100))) * rng.choice((1, -1))
    return Claim(
        kind=kind,
        supplier=supplier,
        customer=customer,
        siren=siren,
        siret=siret,
        vat_number=vat_number,
        iban=iban,
        bic=bic,
        holder=holder,
        number=_invoice_number(rng, date.year),
        date=date,
        due_date=date + dt.timedelta(days=rng.choice((15, 30, 45))),
        service_date=date - dt.timedelta(days=rng.randint(1, 20)),
        items=tuple(items),
        vat_rate=rate,
        total_excl_tax=excl,
        vat_amount=vat,
        total_incl_tax=incl,
        wrong_total=wrong_total,
        wrong_iban=wrong_iban,
    )
