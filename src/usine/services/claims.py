"""Claim files in, claim data saved: the use cases behind the claim API and the review page."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from usine.adapters.db.claims import SqlClaimStore
from usine.adapters.object_store import ObjectStore, content_key
from usine.adapters.page_images import render_page
from usine.domain.claims_acceptance import AcceptanceTally, ClaimsAcceptanceReport
from usine.domain.claims_api import (
    ClaimIn,
    ClaimValues,
    ContractRef,
    ErasureOut,
    SavedClaim,
    StoredExtraction,
    compare,
)
from usine.domain.errors import ModelNotReady, PayloadTooLarge, UnreadableDocument, UsineError
from usine.services.claims_extraction import MODEL_NAME, ClaimExtractor, ClaimsModelHolder, limits_from
from usine.services.models import open_registry
from usine.services.monitoring import window_query
from usine.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimLimits:
    """Bounds on what one request may carry and what one page image may be."""

    max_file_bytes: int
    max_files: int
    max_request_bytes: int
    page_max_side: int = 1600
    page_max_pixels: int = 40_000_000


class ClaimsService:
    """Extract claim files, save validated claims, list and erase them.

    Args:
        store: the claim tables.
        objects: where raw files are kept.
        models: the served claims extractor (following the serving alias of ``claims``).
        limits: upload bounds.

    """

    def __init__(
        self, store: SqlClaimStore, objects: ObjectStore, models: ClaimsModelHolder, limits: ClaimLimits
    ) -> None:
        self.store = store
        self.objects = objects
        self.models = models
        self.limits = limits

    @property
    def unavailable(self) -> str | None:
        """Why no extractor is served (shown by readiness and the 503), or ``None``."""
        if self.models.ready:
            return None
        return self.models.failures.get(MODEL_NAME, "the claims model is not loaded")

    @property
    def extractor(self) -> ClaimExtractor:
        """The extraction engine served now; a request keeps the one it took until it is answered.

        Raises:
            ModelNotReady: no claims model could be loaded.

        """
        reason = self.unavailable
        if reason is not None:
            raise ModelNotReady(f"claim extraction is not available: {reason}")
        return self.models.get(MODEL_NAME)

    def extract_file(
        self, contract: ContractRef, file_name: str, content: bytes, extractor: ClaimExtractor | None = None
    ) -> StoredExtraction:
        """Read one file, keep its bytes and record what was extracted (all or nothing).

        The file is read before anything is stored, so a refused file leaves no trace; if
        the record cannot be written, bytes stored by this call are removed again. The
        files of one request pass the ``extractor`` that request took (the one served now
        by default), so that they are all read by the version its answer names.

        Raises:
            PayloadTooLarge: the file exceeds the size limit.
            UnreadableDocument: the file is empty (or corrupt, encrypted: from the extractor).
            ModelNotReady: no extractor is loaded.
            UsineError: the extractor refused the file (unsupported, unreadable, too large).

        """
        if len(content) > self.limits.max_file_bytes:
            raise PayloadTooLarge(
                f"file of {len(content)} bytes, at most {self.limits.max_file_bytes} accepted"
            )
        if not content:
            raise UnreadableDocument("the file is empty")
        extractor = extractor or self.extractor
        key = content_key(content)
        result = extractor.extract(content, file_name, key)
        stored = StoredExtraction(
            id=str(uuid.uuid4()),
            contract=contract,
            file_key=key,
            file_name=file_name,
            media_type=result.media_type,
            pages=result.pages,
            extractor_version=extractor.version,
            result=result,
            created_at=datetime.now(UTC),
        )
        _, created = self.objects.put(content)
        try:
            self.store.add_extraction(stored)
        except BaseException:
            if created:
                self.objects.delete(key)
            raise
        return stored

    def extraction(self, contract: ContractRef, extraction_id: str) -> StoredExtraction:
        """One recorded extraction of this contract.

        Raises:
            ExtractionNotFound: unknown here.

        """
        return self.store.extractions(contract, [extraction_id])[extraction_id]

    def page_image(self, contract: ContractRef, extraction_id: str, page: int) -> bytes:
        """Page ``page`` of an extraction's stored file, as a PNG of bounded size.

        Raises:
            ExtractionNotFound: unknown here.
            StoredFileNotFound: the file or the page is not there.

        """
        stored = self.extraction(contract, extraction_id)
        content = self.objects.get(stored.file_key)
        return render_page(content, page, self.limits.page_max_side, self.limits.page_max_pixels)

    def save(self, contract: ContractRef, claim: ClaimIn) -> SavedClaim:
        """Save the claim data a handler validated, with its field-by-field corrections.

        Raises:
            ExtractionNotFound: an extraction is unknown or belongs to another contract.
            ClaimConflict: the extractions belong to different saved claims.

        """
        extractions = self.store.extractions(contract, claim.extraction_ids)
        values = ClaimValues.model_validate(claim.model_dump(exclude={"extraction_ids"}))
        corrections = compare({key: stored.result for key, stored in extractions.items()}, values)
        return self.store.save_claim(
            contract, str(uuid.uuid4()), claim.extraction_ids, values, corrections, datetime.now(UTC)
        )

    def claims(self, contract: ContractRef) -> list[SavedClaim]:
        """The saved claims of a contract."""
        return self.store.claims(contract)

    def erase_claim(self, contract: ContractRef, claim_id: str) -> ErasureOut:
        """Erase a claim, its extractions and their raw files.

        Raises:
            ClaimNotFound: unknown here.

        """
        return _erasure(*self.store.erase_claim(contract, claim_id, self._erase_files))

    def erase_customer(self, uom_code: str, customer_id: str) -> ErasureOut:
        """Erase every claim, extraction and raw file of a customer."""
        return _erasure(*self.store.erase_customer(uom_code, customer_id, self._erase_files))

    def acceptance(self, since: str, until: str | None = None) -> ClaimsAcceptanceReport:
        """Field-level acceptance of the extraction over the claims saved in a window.

        Args:
            since: start, a duration back from now (``30d``) or an ISO 8601 datetime.
            until: end, now by default.

        Raises:
            InvalidWindow: a bound cannot be read, or ``until`` is not after ``since``.

        """
        window = window_query("claims", since, until)
        tally = AcceptanceTally()
        claims = self.store.tally_corrections(window.since, window.until, tally)
        return tally.report(window.since, window.until, claims)

    def _erase_files(self, keys: list[str]) -> int:
        return sum(self.objects.delete(key) for key in keys)


def _erasure(claims: int, extractions: int, files: int) -> ErasureOut:
    return ErasureOut(claims=claims, extractions=extractions, files=files)


def refusal(exc: Exception) -> UsineError:
    """The error a refused file is reported with; an unexpected failure is logged and reported as 500."""
    if isinstance(exc, UsineError):
        return exc
    logger.exception("claim file extraction failed unexpectedly", exc_info=exc)
    return UsineError("the file could not be processed; the failure has been logged")


def open_claims(settings: Settings, engine: Engine) -> ClaimsService:
    """The claims service of a server: its tables, its object store and the champion extractor.

    A missing or broken claims model leaves the service without extractor (claim uploads
    answer 503 with the reason) until the alias names a version that loads; saved claims can
    still be listed, saved and erased.
    """
    models = ClaimsModelHolder(settings.serving_alias, limits_from(settings))
    models.load_from(open_registry(settings))
    limits = ClaimLimits(
        max_file_bytes=settings.claims_max_file_bytes,
        max_files=settings.claims_max_files,
        max_request_bytes=settings.claims_max_request_bytes,
    )
    return ClaimsService(SqlClaimStore(engine), ObjectStore(settings.object_store_url), models, limits)
