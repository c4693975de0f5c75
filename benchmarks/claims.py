"""Claim-file extraction: usine's extractor against invoice2data on the same held-out documents.

    .venv/bin/usine train claims                 # once: the champion this script measures
    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/claims.py [--text 40] [--scans 10]

Documents come from usine's generator, in the layout families held out of training
(``claims_corpus.HELD_OUT_LAYOUTS``): text PDFs, and scans (half image-only PDFs, half JPEG
photos). invoice2data 1.0.1 runs in its own venv (``benchmarks/.venv-invoice2data``, built
once from ``requirements-invoice2data.txt``) with one YAML template per held-out layout
(``invoice2data_templates/``): pdftotext for text PDFs, its Tesseract reader for scans. It
needs Debian's ``poppler-utils`` (pdftotext) and ImageMagick beside Tesseract.

Both sides are scored by the same code (field-level precision/recall/F1, values normalised the
same way; invoice2data's IBAN spaces removed). Line items are scored for usine only (rows
``line_items``…, not part of "overall F1"): the invoice2data templates extract no lines.

Time is wall time and CPU time per page (CPU includes child processes such as tesseract), each
file processed one at a time on one core (``OMP_THREAD_LIMIT=1`` for Tesseract). On a shared
machine CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from usine.claims_corpus import HELD_OUT_LAYOUTS, Document, generate_documents, write_corpus
from usine.domain.claims_evaluation import EVALUATED_FIELDS, FieldScores
from usine.domain.claims_item_scores import ITEM_ROWS, ItemScores
from usine.services.claims_evaluation import predicted_items, predicted_values
from usine.services.claims_extraction import load_claim_extractor
from usine.settings import load_settings

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-invoice2data"
PYTHON = VENV / "bin" / "python"
REQUIREMENTS = HERE / "requirements-invoice2data.txt"
TEMPLATES = HERE / "invoice2data_templates"
WORKER = HERE / "invoice2data_worker.py"
DATA = HERE / ".data" / "claims"
PEER_FIELDS = {
    "invoice_number": "invoice.number",
    "date": "invoice.date",
    "currency": "invoice.currency",
    "total_excl_tax": "invoice.total_excl_tax",
    "vat_amount": "invoice.vat_amount",
    "vat_rate": "invoice.vat_rate",
    "amount": "invoice.total_incl_tax",
    "name": "address.name",
    "siret": "address.siret",
    "siren": "address.siren",
    "vat_number": "address.vat_number",
    "street": "address.street",
    "postcode": "address.postcode",
    "city": "address.city",
    "country": "address.country",
    "iban": "bank_details.iban",
    "bic": "bank_details.bic",
    "holder": "bank_details.holder",
}
console = Console()


@dataclass
class Side:
    """One extractor's scores and time on one set of documents."""

    scores: FieldScores = field(default_factory=FieldScores)
    items: ItemScores | None = None
    """Line-item scores, for an extractor that reads line items."""
    pages: int = 0
    wall: float = 0.0
    cpu: float = 0.0


def cpu_seconds() -> float:
    """CPU time of this process and its finished children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def ensure_invoice2data() -> None:
    """Create invoice2data's venv once; check the Debian tools it calls."""
    missing = [tool for tool in ("pdftotext", "tesseract") if shutil.which(tool) is None]
    if shutil.which("magick") is None and shutil.which("convert") is None:
        missing.append("imagemagick")
    if missing:
        raise SystemExit(
            f"invoice2data needs {missing}: apt-get install poppler-utils imagemagick tesseract-ocr-fra"
        )
    if PYTHON.exists():
        return
    print(f"installing invoice2data into {VENV} (once)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)


def peer_values(result: dict[str, Any]) -> dict[str, Any]:
    """invoice2data's output under usine's field names (dates as ISO days, IBAN compact)."""
    values: dict[str, Any] = {}
    for key, name in PEER_FIELDS.items():
        value = result.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None:
            continue
        if name == "invoice.date":
            value = str(value)[:10]
        elif name == "bank_details.iban":
            value = str(value).replace(" ", "")
        elif name.startswith("invoice.") and isinstance(value, float):
            value = f"{value:.2f}"
        values[name] = value
    return values


def run_usine(documents: list[Document]) -> Side:
    """Our extractor, in this process, one document at a time."""
    extractor = load_claim_extractor(load_settings())
    items = ItemScores()
    side = Side(items=items)
    for document in documents:
        wall, cpu = time.perf_counter(), cpu_seconds()
        extraction = extractor.extract(document.content, document.name, document.name)
        side.wall += time.perf_counter() - wall
        side.cpu += cpu_seconds() - cpu
        side.pages += extraction.pages
        side.scores.add(predicted_values(extraction), document.truth)
        items.add(predicted_items(extraction), document.items)
    return side


def run_invoice2data(documents: list[Document], paths: list[Path], module: str) -> Side:
    """invoice2data in its venv on the written files; one JSON line per file back."""
    completed = subprocess.run(
        [str(PYTHON), str(WORKER), str(TEMPLATES), module, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    by_file = {}
    for line in completed.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            by_file[record["file"]] = record
    side = Side()
    for document, path in zip(documents, paths, strict=True):
        record = by_file[str(path)]
        side.wall += record["wall"]
        side.cpu += record["cpu"]
        side.pages += 1
        side.scores.add(peer_values(record["result"]), document.truth)
    return side


def table(results: dict[str, dict[str, Side]]) -> Table:
    """Field F1 of both extractors on text PDFs and scans, then usine's line-item F1."""
    out = Table(title="claims extraction on held-out layouts: field F1")
    out.add_column("field")
    columns = [(kind, side) for kind in ("text", "scans") for side in ("usine", "invoice2data")]
    for kind, side in columns:
        out.add_column(f"{side} {kind}", justify="right")
    for name in EVALUATED_FIELDS:
        out.add_row(name, *(f"{results[kind][side].scores.fields[name].f1:.3f}" for kind, side in columns))
    out.add_row("[bold]overall F1[/]", *(f"{results[k][s].scores.overall.f1:.4f}" for k, s in columns))
    out.add_row("precision", *(f"{results[k][s].scores.overall.precision:.4f}" for k, s in columns))
    out.add_row("recall", *(f"{results[k][s].scores.overall.recall:.4f}" for k, s in columns))
    out.add_section()
    for name in ITEM_ROWS:
        cells = (results[kind][side].items for kind, side in columns)
        out.add_row(name, *(f"{items.rows[name].f1:.3f}" if items else "-" for items in cells))
    return out


def main() -> None:
    """Generate the documents, run both sides, print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=int, default=40, help="text PDFs")
    parser.add_argument("--scans", type=int, default=10, help="scans (image PDFs and JPEG photos)")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    ensure_invoice2data()
    shutil.rmtree(DATA, ignore_errors=True)
    sets = {
        "text": list(generate_documents(args.text, args.seed, HELD_OUT_LAYOUTS)),
        "scans": list(generate_documents(args.scans, args.seed + 1, HELD_OUT_LAYOUTS, scanned=True)),
    }
    results: dict[str, dict[str, Side]] = {}
    for kind, documents in sets.items():
        paths = write_corpus(DATA / kind, iter(documents))
        console.print(f"{kind}: {len(documents)} documents, layouts {', '.join(HELD_OUT_LAYOUTS)}")
        module = "pdftotext" if kind == "text" else "tesseract"
        results[kind] = {
            "usine": run_usine(documents),
            "invoice2data": run_invoice2data(documents, paths, module),
        }
    console.print(table(results))
    speed = Table(title="time per page, one document at a time")
    for column in ("", "usine wall", "usine CPU", "invoice2data wall", "invoice2data CPU", "CPU i2d/usine"):
        speed.add_column(column, justify="right")
    for kind, unit, scale in (("text", "ms", 1000.0), ("scans", "s", 1.0)):
        ours, peer = results[kind]["usine"], results[kind]["invoice2data"]
        speed.add_row(
            f"{kind} ({unit}/page)",
            f"{ours.wall / ours.pages * scale:.2f}",
            f"{ours.cpu / ours.pages * scale:.2f}",
            f"{peer.wall / peer.pages * scale:.2f}",
            f"{peer.cpu / peer.pages * scale:.2f}",
            f"{peer.cpu / ours.cpu:.2f}" if ours.cpu else "-",
        )
    console.print(speed)
    for kind in sets:
        ours, peer = results[kind]["usine"].scores.overall.f1, results[kind]["invoice2data"].scores.overall.f1
        console.print(f"{kind}: F1 usine {ours:.4f} vs invoice2data {peer:.4f} (ratio {ours / peer:.2f})")


if __name__ == "__main__":
    main()
