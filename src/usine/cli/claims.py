"""``usine claims extract``, ``usine claims acceptance``, ``usine evaluate claims`` and claims training."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from usine.cli.progress import stages
from usine.domain.claims_evaluation import EVALUATED_FIELDS, Counts
from usine.domain.claims_item_scores import ITEM_ROWS
from usine.domain.errors import UsineError
from usine.settings import Settings, load_settings

if TYPE_CHECKING:
    from usine.domain.claims_acceptance import ClaimsAcceptanceReport
    from usine.services.claims_evaluation import Evaluation
    from usine.services.claims_training import ClaimsTrainingResult

app = typer.Typer(help="Claim-file extraction.", no_args_is_help=True)
evaluate_app = typer.Typer(help="Measure a registered model.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


@app.command("extract")
def extract(
    files: Annotated[
        list[Path], typer.Argument(help="PDF, PNG, JPEG or TIFF files.", exists=True, dir_okay=False)
    ],
) -> None:
    """Extract invoice, supplier and bank details from claim files; prints one JSON per file.

    The output is a JSON list (one object per file). A file that cannot be read is reported
    on stderr with its reason, the others are still extracted; the exit code is 1 if any failed.
    """
    from usine.services.claims_extraction import load_claim_extractor

    extractor = load_claim_extractor(load_settings())
    results = []
    failed = False
    for path in files:
        content = path.read_bytes()
        try:
            extraction = extractor.extract(content, path.name, hashlib.sha256(content).hexdigest())
        except UsineError as exc:
            errors.print(f"[bold red]{path}:[/] {exc.title}: {exc}", highlight=False, soft_wrap=True)
            failed = True
            continue
        results.append(extraction.model_dump(mode="json"))
    typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
    if failed:
        raise typer.Exit(1)


@app.command("acceptance")
def acceptance(
    since: Annotated[
        str, typer.Option(help="Start: a duration back from now (30d, 24h, 2w) or ISO 8601.")
    ] = "30d",
    until: Annotated[str | None, typer.Option(help="End of the window (now by default).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Was the extraction used as is? Per field, what the claims handlers kept, corrected or typed."""
    from usine.adapters.db.engine import make_engine
    from usine.services.claims import open_claims

    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        report = open_claims(settings, engine).acceptance(since, until)
    finally:
        engine.dispose()
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
        return
    console.print(
        f"{report.claims} claims saved from {report.since:%Y-%m-%d %H:%M} "
        f"to {report.until:%Y-%m-%d %H:%M} UTC; "
        f"{report.fields_reviewed} field values reviewed, used as is: {_share(report.used_as_is)}, "
        f"extracted values accepted: {_share(report.acceptance_rate)}"
    )
    console.print(acceptance_table(report))


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def acceptance_table(report: ClaimsAcceptanceReport) -> Table:
    """One row per field, least accepted first."""
    table = Table(title="field-level acceptance (least accepted first)")
    table.add_column("field")
    for column in ("proposed", "accepted", "corrected", "emptied", "filled", "acceptance"):
        table.add_column(column, justify="right")
    for row in report.fields:
        table.add_row(
            row.field,
            *(str(n) for n in (row.proposed, row.accepted, row.corrected, row.emptied, row.filled)),
            _share(row.acceptance_rate),
        )
    return table


class Evaluated(StrEnum):
    """Models ``usine evaluate`` measures."""

    CLAIMS = "claims"


@evaluate_app.command("claims")
def evaluate_claims(
    documents: Annotated[int, typer.Option(help="Text PDFs of held-out layouts.")] = 60,
    scans: Annotated[int, typer.Option(help="Scans (image PDFs and JPEG photos) of held-out layouts.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the generated documents.")] = 20261103,
) -> None:
    """Field-level precision, recall and F1 of the champion on layouts held out of training."""
    from usine.services.claims_evaluation import evaluate_champion

    settings = load_settings()
    with stages(console) as stage:
        report = evaluate_champion(settings, documents=documents, scans=scans, seed=seed, step=stage)
    console.print(scores_table(report.text, report.scans))
    for label, evaluation in (("text PDFs", report.text), ("scans", report.scans)):
        if evaluation.pages:
            console.print(
                f"{label}: {evaluation.scores.documents} documents, "
                f"field F1 {evaluation.scores.overall.f1:.4f}, line-item F1 {evaluation.items.items.f1:.4f}, "
                f"{evaluation.seconds_per_page * 1000:.0f} ms per page"
            )
    console.print(f"model claims version {report.version}; logged as MLflow run {report.run_id[:8]}")


def _cells(evaluation: Evaluation, counts: Counts) -> list[str]:
    if not evaluation.scores.documents:
        return ["-"] * 3
    return [f"{counts.precision:.3f}", f"{counts.recall:.3f}", f"{counts.f1:.3f}"]


def scores_table(text: Evaluation, scans: Evaluation) -> Table:
    """Precision, recall and F1 per field, then of line items, text PDFs and scans side by side.

    "overall" sums the header fields only; line items have their own rows below it.
    """
    table = Table(title="claims extraction on held-out layouts")
    table.add_column("field")
    for label in ("text", "scans"):
        for metric in ("P", "R", "F1"):
            table.add_column(f"{label} {metric}", justify="right")
    for name in EVALUATED_FIELDS:
        table.add_row(
            name, *_cells(text, text.scores.fields[name]), *_cells(scans, scans.scores.fields[name])
        )
    table.add_row(
        "[bold]overall[/] (fields)", *_cells(text, text.scores.overall), *_cells(scans, scans.scores.overall)
    )
    table.add_section()
    for name in ITEM_ROWS:
        table.add_row(name, *_cells(text, text.items.rows[name]), *_cells(scans, scans.items.rows[name]))
    return table


def run_claims_training(settings: Settings, seed: int | None = None) -> ClaimsTrainingResult:
    """Train the claims model with a progress display and print its held-out metrics."""
    from usine.services.claims_extraction import limits_from
    from usine.services.claims_training import train_claims
    from usine.services.models import open_registry

    registry = open_registry(settings)
    with stages(console) as stage:
        result = train_claims(
            registry,
            limits_from(settings),
            min_f1=settings.claims_min_f1,
            alias=settings.serving_alias,
            seed=settings.random_seed if seed is None else seed,
            train_documents=settings.claims_train_documents,
            train_scans=settings.claims_train_scans,
            eval_documents=settings.claims_eval_documents,
            step=stage,
        )
    table = Table(title=f"{result.name} version {result.version} (run {result.run_id[:8]})")
    table.add_column("metric")
    table.add_column("held-out layouts", justify="right")
    for metric in (
        "heldout_text_f1",
        "heldout_text_precision",
        "heldout_text_recall",
        "heldout_text_ms_per_page",
    ):
        table.add_row(metric, f"{result.metrics[metric]:.4f}")
    console.print(table)
    if result.promoted:
        console.print(f"[green]quality gate passed[/]: version {result.version} is now {result.alias!r}")
    return result
