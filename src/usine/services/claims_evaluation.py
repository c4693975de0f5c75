"""Measure a claim extractor on generated documents: field and line-item scores, time per page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from usine.claims_corpus import HELD_OUT_LAYOUTS, Document, generate_documents
from usine.domain.claims import FileExtraction
from usine.domain.claims_assembly import flatten
from usine.domain.claims_evaluation import FieldScores
from usine.domain.claims_item_scores import ITEM_ATTRIBUTES, ItemScores
from usine.services.claims_extraction import MODEL_NAME, load_claim_extractor
from usine.services.models import open_registry
from usine.settings import Settings


@dataclass
class Evaluation:
    """Scores of one set of documents and the time extraction took."""

    scores: FieldScores = field(default_factory=FieldScores)
    items: ItemScores = field(default_factory=ItemScores)
    pages: int = 0
    seconds: float = 0.0

    @property
    def seconds_per_page(self) -> float:
        """Mean extraction time per page."""
        return self.seconds / self.pages if self.pages else 0.0


def predicted_values(extraction: FileExtraction) -> dict[str, object]:
    """The value of every scalar field of an extraction, by dotted name."""
    return {name: value.value for name, value in flatten(extraction).items()}


def predicted_items(extraction: FileExtraction) -> list[dict[str, object]]:
    """The extracted line items, each attribute's value by name (``None`` where not found)."""
    return [
        {name: getattr(item, name).value for name in ITEM_ATTRIBUTES}
        for item in extraction.invoice.line_items
    ]


def evaluate(
    extract: Callable[[bytes, str, str], FileExtraction],
    documents: Iterable[Document],
    progress: Callable[[int], None] = lambda _: None,
) -> Evaluation:
    """Extract every document, timing each call, and score fields and line items against the truth."""
    evaluation = Evaluation()
    for index, document in enumerate(documents, start=1):
        started = time.perf_counter()
        extraction = extract(document.content, document.name, document.name)
        evaluation.seconds += time.perf_counter() - started
        evaluation.pages += extraction.pages
        evaluation.scores.add(predicted_values(extraction), document.truth)
        evaluation.items.add(predicted_items(extraction), document.items)
        progress(index)
    return evaluation


@dataclass(frozen=True)
class ChampionReport:
    """The champion's scores on held-out layouts, text PDFs and scans apart, and its MLflow run."""

    version: str
    run_id: str
    text: Evaluation
    scans: Evaluation


def evaluate_champion(
    settings: Settings,
    *,
    documents: int,
    scans: int,
    seed: int,
    step: Callable[[str], None] = lambda _: None,
) -> ChampionReport:
    """Measure the serving version of ``claims`` on generated held-out-layout documents.

    The metrics are logged as a run of the MLflow experiment ``usine-evaluation``.

    Raises:
        ModelNotReady: no version of ``claims`` has the serving alias.

    """
    extractor = load_claim_extractor(settings)
    step(f"extract {documents} text PDFs")
    text = evaluate(extractor.extract, generate_documents(documents, seed, HELD_OUT_LAYOUTS))
    step(f"extract {scans} scans (OCR)")
    scanned = evaluate(extractor.extract, generate_documents(scans, seed + 1, HELD_OUT_LAYOUTS, scanned=True))
    step("log to MLflow")
    metrics = {
        **text.scores.metrics("text"),
        **text.items.metrics("text"),
        **scanned.scores.metrics("scans"),
        **scanned.items.metrics("scans"),
        "text_ms_per_page": text.seconds_per_page * 1000,
        "scans_s_per_page": scanned.seconds_per_page,
    }
    params = {
        "model": MODEL_NAME,
        "version": extractor.version,
        "seed": str(seed),
        "layouts": ",".join(HELD_OUT_LAYOUTS),
    }
    run_id = open_registry(settings).log_job(
        "usine-evaluation", f"{MODEL_NAME}-v{extractor.version}", params, metrics
    )
    return ChampionReport(version=extractor.version, run_id=run_id, text=text, scans=scanned)
