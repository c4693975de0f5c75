"""Train the claims candidate scorer on generated documents, log it to MLflow, gate it.

Training documents use the training layout families only; the gate measures field-level F1
on text PDFs of the held-out families (``claims_corpus.HELD_OUT_LAYOUTS``), so a version is
promoted only when it extracts well from layouts it never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version as package_version
from itertools import chain

from threadpoolctl import threadpool_limits

from usine import __version__
from usine.adapters.documents import ReadLimits, read_document
from usine.adapters.registry import DocumentModelRun, ModelRegistry
from usine.claims_corpus import HELD_OUT_LAYOUTS, TRAINING_LAYOUTS, generate_documents
from usine.domain.claims_candidates import FEATURE_NAMES
from usine.pipelines import claims
from usine.services.claims_evaluation import evaluate
from usine.services.claims_extraction import ClaimExtractor
from usine.services.reproducibility import git_commit
from usine.services.training import TrainedVersion

Step = Callable[[str], None]
HELD_OUT_SEED_OFFSET = 1_000_003
"""Held-out documents are drawn from another seed than the training ones."""
TRAINING_ERROR_RATE = 0.25
"""Share of training documents with a wrong total (and, apart, with a mistyped IBAN): enough that
the model learns to trust labels over arithmetic, which a wrong total breaks."""


@dataclass(frozen=True)
class ClaimsTrainingResult(TrainedVersion):
    """Outcome of one claims training run, gated on held-out field F1."""

    min_f1: float


def train_claims(
    registry: ModelRegistry,
    limits: ReadLimits,
    *,
    min_f1: float,
    alias: str = "champion",
    seed: int = 42,
    train_documents: int = 240,
    train_scans: int = 0,
    eval_documents: int = 60,
    step: Step = lambda _: None,
) -> ClaimsTrainingResult:
    """Generate, fit, evaluate on held-out layouts, log, register; move ``alias`` if it passes.

    Args:
        registry: where the run is logged and the version registered.
        limits: how documents are read (the same limits as in serving).
        min_f1: the quality gate on held-out-layout field F1 (text PDFs).
        alias: the alias a passing version receives.
        seed: seeds the corpus and the model, so a rerun gives the same metrics.
        train_documents: generated text PDFs to train on.
        train_scans: generated scans (read by OCR) added to them.
        eval_documents: generated text PDFs of held-out layouts to gate on.
        step: called with the name of each stage as it starts.

    """
    with threadpool_limits(limits=1):
        step("generate and read the training corpus")
        corpus = chain(
            generate_documents(train_documents, seed, TRAINING_LAYOUTS, error_rate=TRAINING_ERROR_RATE),
            generate_documents(
                train_scans, seed + 1, TRAINING_LAYOUTS, scanned=True, error_rate=TRAINING_ERROR_RATE
            ),
        )
        read = [(d, read_document(d.content, limits)) for d in corpus]
        data = claims.training_set(read)
        params = claims.default_params()
        step("fit")
        model = claims.build_model(params, seed).fit(data.features, data.labels)
        step("evaluate on held-out layouts")
        extractor = ClaimExtractor(version="candidate", scorer=model, limits=limits)
        held_out = generate_documents(eval_documents, seed + HELD_OUT_SEED_OFFSET, HELD_OUT_LAYOUTS)
        evaluation = evaluate(extractor.extract, held_out)
    metrics = {
        **evaluation.scores.metrics("heldout_text"),
        **evaluation.items.metrics("heldout_text"),
        "heldout_text_ms_per_page": evaluation.seconds_per_page * 1000,
        "train_candidates": float(len(data.labels)),
        "train_positives": float(data.labels.sum()),
    }
    step("log to MLflow")
    per_field = {
        name: {"precision": c.precision, "recall": c.recall, "f1": c.f1, "tp": c.tp, "fp": c.fp, "fn": c.fn}
        for name, c in evaluation.scores.fields.items()
    }
    logged = registry.log_document_model(
        DocumentModelRun(
            run_name=f"{claims.MODEL_NAME}-seed{seed}",
            params={
                **params,
                "seed": seed,
                "train_documents": train_documents,
                "train_scans": train_scans,
                "eval_documents": eval_documents,
                "training_layouts": ",".join(TRAINING_LAYOUTS),
                "held_out_layouts": ",".join(HELD_OUT_LAYOUTS),
            },
            metrics=metrics,
            tags={
                "usine.model": claims.MODEL_NAME,
                "usine.version": __version__,
                "usine.git_commit": git_commit(),
                "usine.scikit_learn": package_version("scikit-learn"),
            },
            feature_names=FEATURE_NAMES,
            model=model,
            trusted_types=claims.SKOPS_TRUSTED_TYPES,
            artifacts={"evaluation/heldout_text_fields.json": per_field},
        )
    )
    step("register and gate")
    gate = metrics["heldout_text_f1"]
    version = registry.register(claims.MODEL_NAME, logged, {"heldout_text_f1": gate})
    promoted = gate >= min_f1
    if promoted:
        registry.set_alias(claims.MODEL_NAME, alias, version)
    return ClaimsTrainingResult(
        name=claims.MODEL_NAME,
        version=version,
        run_id=logged.run_id,
        metrics=metrics,
        promoted=promoted,
        alias=alias,
        min_f1=min_f1,
    )
