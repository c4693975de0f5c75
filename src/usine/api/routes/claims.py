"""Claim files: upload and extraction, saving the validated claim, listing and erasing it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from usine.api.auth import scoped
from usine.api.deps import JsonBody
from usine.api.errors import error_members
from usine.api.uploads import display_name, read_files
from usine.domain.access import Scope
from usine.domain.claims_api import (
    EXTRACTION_ID,
    ClaimFilesOut,
    ClaimIn,
    ClaimOut,
    ContractRef,
    ErasureOut,
    ExtractedFileOut,
    FileProblemOut,
    SavedClaim,
    StoredExtraction,
    summarise,
)
from usine.domain.errors import FieldError, InvalidInput, NoFileExtracted
from usine.services.claims import ClaimsService, refusal

router = APIRouter(
    prefix="/entities/{uom_code}/customers/{customer_id}", tags=["claims"], dependencies=scoped(Scope.CLAIMS)
)

IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Identifier = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=IDENTIFIER,
        description="ASCII letters, digits, '.', '_' and '-' (no separator, no other character).",
    ),
]
ExtractionId = Annotated[str, Path(pattern=EXTRACTION_ID)]
ClaimId = Annotated[str, Path(pattern=EXTRACTION_ID)]
PageNumber = Annotated[int, Path(ge=1, le=10_000)]
CONTRACT = "/contracts/{contract_id}"
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not in this contract", **PROBLEM}}


async def get_claims_service(request: Request) -> ClaimsService:
    """The claims service of this app."""
    service: ClaimsService = request.app.state.claims
    return service


async def contract_ref(uom_code: Identifier, customer_id: Identifier, contract_id: Identifier) -> ContractRef:
    """The contract named by the path."""
    return ContractRef(uom_code=uom_code, customer_id=customer_id, contract_id=contract_id)


ClaimsDep = Annotated[ClaimsService, Depends(get_claims_service)]
ContractDep = Annotated[ContractRef, Depends(contract_ref)]


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            "description": "One or more claim files (PDF, PNG, JPEG, TIFF); the "
                            "limits are USINE_CLAIMS_MAX_FILES and USINE_CLAIMS_MAX_FILE_BYTES.",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    CONTRACT + "/claim_files_extraction",
    openapi_extra=UPLOAD_BODY,
    responses={
        400: {"description": "The multipart body cannot be read, or holds no file", **PROBLEM},
        413: {"description": "Too many bytes or files in the request, or every file too large", **PROBLEM},
        415: {"description": "Not multipart, or every file of an unsupported type", **PROBLEM},
        422: {
            "description": "Invalid path ids, or no file could be read (each one's reason listed)",
            **PROBLEM,
        },
        503: {"description": "No claims model is loaded", **PROBLEM},
    },
)
async def claim_files_extraction(
    request: Request, contract: ContractDep, service: ClaimsDep
) -> ClaimFilesOut:
    """Extract invoice, supplier address and bank details from each uploaded file.

    Each file is stored (under the SHA-256 of its bytes) and its extraction recorded; a file
    that cannot be read is reported in ``problems`` while the others are still processed.
    When no file can be read, the answer is a 4xx problem listing each file's reason.
    """
    extractor = service.extractor  # 503 before reading any upload
    limits = service.limits
    uploads = await read_files(request, limits.max_files, limits.max_request_bytes)
    extractions: list[ExtractedFileOut] = []
    problems: list[FileProblemOut] = []
    try:
        for index, upload in enumerate(uploads):
            name = display_name(upload.filename, index)
            try:
                content = await upload.read()
                stored = await run_in_threadpool(service.extract_file, contract, name, content, extractor)
            except Exception as exc:  # every failure is reported for this file, the others go on
                problems.append(FileProblemOut(index=index, file=name, **error_members(refusal(exc))))
                continue
            extractions.append(
                ExtractedFileOut(index=index, file=name, extraction_id=stored.id, extraction=stored.result)
            )
    finally:
        for upload in uploads:
            await upload.close()
    if not extractions:
        raise NoFileExtracted([problem.model_dump() for problem in problems])
    return ClaimFilesOut(
        uom_code=contract.uom_code,
        customer_id=contract.customer_id,
        contract_id=contract.contract_id,
        extractor_version=extractor.version,
        extractions=extractions,
        problems=problems,
    )


@router.get(CONTRACT + "/extractions/{extraction_id}", responses=NOT_FOUND)
def get_extraction(
    extraction_id: ExtractionId, contract: ContractDep, service: ClaimsDep
) -> ExtractedFileOut:
    """One recorded extraction of this contract."""
    return _extraction_out(service.extraction(contract, extraction_id))


@router.get(
    CONTRACT + "/extractions/{extraction_id}/pages/{page}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **NOT_FOUND},
)
async def get_page_image(
    extraction_id: ExtractionId, page: PageNumber, contract: ContractDep, service: ClaimsDep
) -> Response:
    """Page ``page`` (1-based) of the stored file, as a PNG at most 1600 pixels on its longer side."""
    png = await run_in_threadpool(service.page_image, contract, extraction_id, page)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.put(
    CONTRACT + "/save_extract",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClaimIn"}}},
        }
    },
    responses={
        **NOT_FOUND,
        409: {"description": "The extractions belong to different saved claims", **PROBLEM},
        413: {"description": "Body too large", **PROBLEM},
        422: {"description": "A value is invalid", **PROBLEM},
    },
)
def save_extract(body: JsonBody, contract: ContractDep, service: ClaimsDep) -> ClaimOut:
    """Save the claim data as the handler validated it.

    The differences with the extraction are stored field by field. Saving again from the same
    extractions replaces the claim.
    """
    return claim_out(service.save(contract, _claim_in(body)))


@router.get(CONTRACT + "/claims")
def list_claims(contract: ContractDep, service: ClaimsDep) -> list[ClaimOut]:
    """The saved claims of this contract, oldest first, each with its corrections summary."""
    return [claim_out(claim) for claim in service.claims(contract)]


@router.delete(CONTRACT + "/claims/{claim_id}", responses=NOT_FOUND)
def delete_claim(claim_id: ClaimId, contract: ContractDep, service: ClaimsDep) -> ErasureOut:
    """Erase a saved claim, the extractions it was saved from and their raw files."""
    return service.erase_claim(contract, claim_id)


@router.delete("/claim_data")
def delete_customer_claim_data(
    uom_code: Identifier, customer_id: Identifier, service: ClaimsDep
) -> ErasureOut:
    """Erase every claim, extraction and raw file of this customer (data-protection request)."""
    return service.erase_customer(uom_code, customer_id)


def _claim_in(body: object) -> ClaimIn:
    try:
        return ClaimIn.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(
            [
                FieldError(index=None, field=".".join(map(str, error["loc"])) or "body", message=error["msg"])
                for error in exc.errors()
            ]
        ) from None


def _extraction_out(stored: StoredExtraction) -> ExtractedFileOut:
    return ExtractedFileOut(index=0, file=stored.file_name, extraction_id=stored.id, extraction=stored.result)


def claim_out(claim: SavedClaim) -> ClaimOut:
    """The API view of a saved claim."""
    return ClaimOut(
        id=claim.id,
        uom_code=claim.contract.uom_code,
        customer_id=claim.contract.customer_id,
        contract_id=claim.contract.contract_id,
        saved_at=claim.saved_at,
        extraction_ids=claim.extraction_ids,
        values=claim.values,
        corrections=summarise(claim.corrections),
    )
