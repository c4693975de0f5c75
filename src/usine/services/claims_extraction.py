"""Claim-file extraction: one file's bytes in, a checked :class:`FileExtraction` out.

``load_claim_extractor`` loads the champion of the registered model ``claims`` (the
candidate scorer trained by ``usine train claims``), and a server's :class:`ClaimsModelHolder`
follows that alias like the prediction models'; ``ClaimExtractor.extract`` reads the file
(text layer or OCR), lists candidates, scores them with the model and assembles the checked
result. Extraction is pure CPU and writes nothing, so one extractor serves concurrent
requests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

from usine.adapters.documents import ReadLimits, read_document
from usine.adapters.registry import ModelRegistry
from usine.domain.claims import FileExtraction
from usine.domain.claims_assembly import assemble
from usine.domain.claims_candidates import FEATURE_NAMES, candidates
from usine.domain.errors import ModelNotFound, ModelNotReady
from usine.services.model_holder import VersionHolder
from usine.services.models import open_registry
from usine.settings import Settings

MODEL_NAME = "claims"


class CandidateScorer(Protocol):
    """A binary classifier over candidate feature vectors (scikit-learn's interface)."""

    def predict_proba(self, features: Any) -> Any:
        """Probabilities of each class (column 1: the candidate is the field's value)."""
        ...


def limits_from(settings: Settings) -> ReadLimits:
    """The reading limits the settings give."""
    return ReadLimits(
        max_pages=settings.claims_max_pages,
        max_pixels=settings.claims_max_pixels,
        ocr_dpi=settings.claims_ocr_dpi,
        min_text_chars=settings.claims_min_text_chars,
        ocr_timeout_s=settings.claims_ocr_timeout_s,
    )


@dataclass(frozen=True)
class ClaimExtractor:
    """A loaded claims model and the limits files are read within."""

    version: str
    scorer: CandidateScorer
    limits: ReadLimits
    name: str = MODEL_NAME

    def extract(self, content: bytes, file_name: str, file_key: str) -> FileExtraction:
        """Extract the invoice, supplier and bank details of one file.

        Args:
            content: the file's bytes (PDF, PNG, JPEG or TIFF, judged by its bytes).
            file_name: the client's name for it, echoed for display only.
            file_key: the key under which the caller stored the bytes.

        Raises:
            UnsupportedDocument: not a supported type (415).
            UnreadableDocument: corrupt, empty or encrypted (422).
            DocumentTooLarge: more pages or pixels than the settings allow (413).

        """
        document = read_document(content, self.limits)
        found = candidates(document)
        probabilities: list[float] = []
        if found:
            matrix = np.array([c.vector() for c in found], dtype=np.float64)
            probabilities = [float(p) for p in self.scorer.predict_proba(matrix)[:, 1]]
        return assemble(document, found, probabilities, file_name, file_key)


def load_claim_extractor(settings: Settings, alias: str | None = None) -> ClaimExtractor:
    """The extractor backed by the ``alias`` version (the serving alias by default) of ``claims``.

    Raises:
        ModelNotReady: no version of ``claims`` has the alias (train it: ``usine train claims``).

    """
    registry = open_registry(settings)
    alias = alias or settings.serving_alias
    version = registry.version_for_alias(MODEL_NAME, alias)
    if version is None:
        raise ModelNotReady(f"no version of {MODEL_NAME!r} is {alias!r}: run `usine train claims`")
    try:
        return load_claim_version(registry, version, limits_from(settings))
    except ModelNotFound as exc:
        raise ModelNotReady(str(exc)) from None


def load_claim_version(registry: ModelRegistry, version: str, limits: ReadLimits) -> ClaimExtractor:
    """The extractor backed by version ``version`` of ``claims``.

    Raises:
        ModelNotFound: the registry has no such version.

    """
    threadpool_limits(limits=1, user_api="openmp")  # one scoring thread: requests run side by side
    scorer = registry.load_document_model(MODEL_NAME, version, FEATURE_NAMES)
    return ClaimExtractor(version=version, scorer=scorer, limits=limits)


class ClaimsModelHolder(VersionHolder[ClaimExtractor]):
    """The claims extractor a server serves: the aliased version of ``claims``.

    It is reloaded when the alias moves, as the prediction models are; an extraction keeps
    the extractor it started with.

    Args:
        alias: the registry alias whose version is served (``champion``).
        limits: the reading limits every loaded extractor applies.

    """

    def __init__(self, alias: str, limits: ReadLimits) -> None:
        super().__init__([MODEL_NAME], alias)
        self.limits = limits

    def _load_version(self, registry: ModelRegistry, name: str, version: str) -> ClaimExtractor:
        """The extractor backed by ``version``."""
        return load_claim_version(registry, version, self.limits)

    def _as_held(self, loaded: ClaimExtractor) -> ClaimExtractor:
        """The loaded extractor with this server's reading limits."""
        return replace(loaded, limits=self.limits)
