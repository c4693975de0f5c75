"""Claim data on SQLAlchemy: extractions of uploaded files, saved claims and their corrections.

One implementation for SQLite and PostgreSQL. Every read and write is scoped to one
contract (entity, customer, contract): a row of another customer is "not found", never read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from usine.adapters.db.repository import reachable
from usine.adapters.db.tables import ClaimCorrectionRow, ClaimExtractionRow, ClaimRow, ClaimSourceRow
from usine.domain.claims import FileExtraction
from usine.domain.claims_acceptance import AcceptanceTally
from usine.domain.claims_api import (
    ClaimValues,
    ContractRef,
    FieldCorrection,
    SavedClaim,
    StoredExtraction,
)
from usine.domain.errors import ClaimConflict, ClaimNotFound, ExtractionNotFound

EraseFiles = Callable[[list[str]], int]
"""Removes raw files by key from the object store; returns how many were there."""


class SqlClaimStore:
    """Stores extractions, saved claims and per-field corrections in the database behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def add_extraction(self, extraction: StoredExtraction) -> None:
        """Record one file's extraction."""
        contract = extraction.contract
        with reachable(), self._sessions.begin() as session:
            session.add(
                ClaimExtractionRow(
                    id=extraction.id,
                    **_contract_columns(contract),
                    file_key=extraction.file_key,
                    file_name=extraction.file_name,
                    media_type=extraction.media_type,
                    pages=extraction.pages,
                    extractor_version=extraction.extractor_version,
                    result=extraction.result.model_dump(mode="json"),
                    created_at=extraction.created_at,
                )
            )

    def extractions(self, contract: ContractRef, ids: Sequence[str]) -> dict[str, StoredExtraction]:
        """The extractions with these ids, in the order given.

        Raises:
            ExtractionNotFound: an id is unknown, or belongs to another contract.

        """
        with reachable(), self._sessions() as session:
            return _extractions(session, contract, ids)

    def save_claim(
        self,
        contract: ContractRef,
        new_id: str,
        extraction_ids: Sequence[str],
        values: ClaimValues,
        corrections: list[FieldCorrection],
        saved_at: dt.datetime,
    ) -> SavedClaim:
        """Save a claim, its sources and its corrections in one transaction (all or nothing).

        When the extractions were already saved as one claim, that claim is replaced (same
        id); otherwise a claim with ``new_id`` is created.

        Raises:
            ExtractionNotFound: an extraction is unknown or belongs to another contract.
            ClaimConflict: the extractions belong to different saved claims.

        """
        with reachable(), self._sessions.begin() as session:
            _extractions(session, contract, extraction_ids)
            owners = set(
                session.scalars(
                    select(ClaimSourceRow.claim_id).where(ClaimSourceRow.extraction_id.in_(extraction_ids))
                )
            )
            if len(owners) > 1:
                raise ClaimConflict(
                    f"these extractions belong to {len(owners)} different saved claims; save them separately"
                )
            claim_id = owners.pop() if owners else new_id
            _delete_claims(session, [claim_id])
            session.add(
                ClaimRow(
                    id=claim_id,
                    **_contract_columns(contract),
                    values=values.model_dump(mode="json"),
                    saved_at=saved_at,
                )
            )
            session.flush()
            session.add_all(
                ClaimSourceRow(claim_id=claim_id, extraction_id=extraction_id, position=position)
                for position, extraction_id in enumerate(extraction_ids)
            )
            session.add_all(_correction_row(claim_id, correction) for correction in corrections)
        return SavedClaim(
            id=claim_id,
            contract=contract,
            saved_at=saved_at,
            extraction_ids=list(extraction_ids),
            values=values,
            corrections=corrections,
        )

    def claims(self, contract: ContractRef) -> list[SavedClaim]:
        """The saved claims of a contract, oldest first."""
        with reachable(), self._sessions() as session:
            rows = session.scalars(
                select(ClaimRow)
                .where(*_in_contract(ClaimRow, contract))
                .order_by(ClaimRow.saved_at, ClaimRow.id)
            ).all()
            ids = [row.id for row in rows]
            sources: dict[str, list[str]] = {claim_id: [] for claim_id in ids}
            for source in session.scalars(
                select(ClaimSourceRow)
                .where(ClaimSourceRow.claim_id.in_(ids))
                .order_by(ClaimSourceRow.position)
            ):
                sources[source.claim_id].append(source.extraction_id)
            corrections: dict[str, list[FieldCorrection]] = {claim_id: [] for claim_id in ids}
            for correction in session.scalars(
                select(ClaimCorrectionRow).where(ClaimCorrectionRow.claim_id.in_(ids))
            ):
                corrections[correction.claim_id].append(_correction(correction))
            return [
                SavedClaim(
                    id=row.id,
                    contract=contract,
                    saved_at=row.saved_at,
                    extraction_ids=sources[row.id],
                    values=ClaimValues.model_validate(row.values),
                    corrections=sorted(corrections[row.id], key=lambda c: c.field),
                )
                for row in rows
            ]

    def tally_corrections(
        self, since: dt.datetime, until: dt.datetime, tally: AcceptanceTally, chunk_rows: int = 10_000
    ) -> int:
        """Count the corrections of every claim saved in ``[since, until)``, streamed by chunks.

        Returns:
            The number of claims saved in the window.

        """
        in_window = (ClaimRow.saved_at >= since, ClaimRow.saved_at < until)
        with reachable(), self._sessions() as session:
            claims = session.scalar(select(func.count()).select_from(ClaimRow).where(*in_window)) or 0
            rows = session.execute(
                select(
                    ClaimCorrectionRow.field,
                    ClaimCorrectionRow.extracted,
                    ClaimCorrectionRow.saved,
                    ClaimCorrectionRow.confidence,
                )
                .join(ClaimRow, ClaimRow.id == ClaimCorrectionRow.claim_id)
                .where(*in_window)
                .execution_options(yield_per=chunk_rows)
            )
            for path, extracted, saved, confidence in rows:
                tally.add(path, extracted, saved, confidence)
        return int(claims)

    def erase_claim(
        self, contract: ContractRef, claim_id: str, erase_files: EraseFiles
    ) -> tuple[int, int, int]:
        """Erase a saved claim, the extractions it was saved from and their raw files.

        Raw files go inside the transaction: if the store fails, nothing is erased in the
        database and the erasure can be retried.

        Returns:
            How many claims, extractions and raw files were erased.

        Raises:
            ClaimNotFound: no claim has this id in this contract.

        """
        with reachable(), self._sessions.begin() as session:
            claim = session.scalars(
                select(ClaimRow).where(ClaimRow.id == claim_id, *_in_contract(ClaimRow, contract))
            ).one_or_none()
            if claim is None:
                raise ClaimNotFound(f"no saved claim {claim_id!r} in this contract")
            extraction_ids = list(
                session.scalars(
                    select(ClaimSourceRow.extraction_id).where(ClaimSourceRow.claim_id == claim_id)
                )
            )
            return _erase(session, [claim_id], extraction_ids, erase_files)

    def erase_customer(
        self, uom_code: str, customer_id: str, erase_files: EraseFiles
    ) -> tuple[int, int, int]:
        """Erase every claim, extraction and raw file of a customer, across contracts.

        Returns:
            How many claims, extractions and raw files were erased.

        """
        with reachable(), self._sessions.begin() as session:
            of_customer = (ClaimRow.uom_code == uom_code, ClaimRow.customer_id == customer_id)
            claim_ids = list(session.scalars(select(ClaimRow.id).where(*of_customer)))
            extraction_ids = list(
                session.scalars(
                    select(ClaimExtractionRow.id).where(
                        ClaimExtractionRow.uom_code == uom_code, ClaimExtractionRow.customer_id == customer_id
                    )
                )
            )
            return _erase(session, claim_ids, extraction_ids, erase_files)

    def count_references(self, file_key: str) -> int:
        """How many extractions refer to the raw file ``file_key``."""
        with reachable(), self._sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(ClaimExtractionRow)
                    .where(ClaimExtractionRow.file_key == file_key)
                )
                or 0
            )


def _erase(
    session: Session, claim_ids: list[str], extraction_ids: list[str], erase_files: EraseFiles
) -> tuple[int, int, int]:
    keys = set(
        session.scalars(select(ClaimExtractionRow.file_key).where(ClaimExtractionRow.id.in_(extraction_ids)))
    )
    _delete_claims(session, claim_ids)
    session.execute(delete(ClaimSourceRow).where(ClaimSourceRow.extraction_id.in_(extraction_ids)))
    session.execute(delete(ClaimExtractionRow).where(ClaimExtractionRow.id.in_(extraction_ids)))
    session.flush()
    # The same bytes uploaded for another contract share the key: keep what is still referenced.
    still_used = set(
        session.scalars(select(ClaimExtractionRow.file_key).where(ClaimExtractionRow.file_key.in_(keys)))
    )
    files = erase_files(sorted(keys - still_used))
    return len(claim_ids), len(extraction_ids), files


def _delete_claims(session: Session, claim_ids: list[str]) -> None:
    session.execute(delete(ClaimCorrectionRow).where(ClaimCorrectionRow.claim_id.in_(claim_ids)))
    session.execute(delete(ClaimSourceRow).where(ClaimSourceRow.claim_id.in_(claim_ids)))
    session.execute(delete(ClaimRow).where(ClaimRow.id.in_(claim_ids)))
    session.flush()


def _extractions(session: Session, contract: ContractRef, ids: Sequence[str]) -> dict[str, StoredExtraction]:
    rows = {
        row.id: row
        for row in session.scalars(
            select(ClaimExtractionRow).where(
                ClaimExtractionRow.id.in_(ids), *_in_contract(ClaimExtractionRow, contract)
            )
        )
    }
    missing = [extraction_id for extraction_id in ids if extraction_id not in rows]
    if missing:
        raise ExtractionNotFound(f"no extraction {missing[0]!r} in this contract")
    return {extraction_id: _stored(rows[extraction_id], contract) for extraction_id in ids}


def _stored(row: ClaimExtractionRow, contract: ContractRef) -> StoredExtraction:
    return StoredExtraction(
        id=row.id,
        contract=contract,
        file_key=row.file_key,
        file_name=row.file_name,
        media_type=row.media_type,
        pages=row.pages,
        extractor_version=row.extractor_version,
        result=FileExtraction.model_validate(row.result),
        created_at=row.created_at,
    )


def _in_contract(
    table: type[ClaimRow] | type[ClaimExtractionRow], contract: ContractRef
) -> tuple[ColumnElement[bool], ...]:
    return (
        table.uom_code == contract.uom_code,
        table.customer_id == contract.customer_id,
        table.contract_id == contract.contract_id,
    )


def _contract_columns(contract: ContractRef) -> dict[str, Any]:
    return {
        "uom_code": contract.uom_code,
        "customer_id": contract.customer_id,
        "contract_id": contract.contract_id,
    }


def _correction_row(claim_id: str, correction: FieldCorrection) -> ClaimCorrectionRow:
    return ClaimCorrectionRow(
        claim_id=claim_id,
        field=correction.field,
        extraction_id=correction.extraction_id,
        extracted=correction.extracted,
        saved=correction.saved,
        changed=correction.changed,
        confidence=correction.confidence,
    )


def _correction(row: ClaimCorrectionRow) -> FieldCorrection:
    return FieldCorrection(
        field=row.field,
        extraction_id=row.extraction_id,
        extracted=row.extracted,
        saved=row.saved,
        confidence=row.confidence,
    )
