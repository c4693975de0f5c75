"""``usine claims extract`` and ``usine evaluate claims`` as a user runs them."""

import json
import os
import subprocess
import sys
from pathlib import Path

from usine.claims_corpus import HELD_OUT_LAYOUTS, generate_documents, write_corpus
from usine.services.claims_training import ClaimsTrainingResult


def usine(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "USINE_HOME": str(home), "COLUMNS": "200", "OMP_THREAD_LIMIT": "1"}
    return subprocess.run(
        [sys.executable, "-m", "usine", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_extract_prints_json_per_file_and_names_the_file_it_cannot_read(
    claims_home: tuple[Path, ClaimsTrainingResult], tmp_path: Path
) -> None:
    document = next(generate_documents(1, 31, HELD_OUT_LAYOUTS, error_rate=0.0))
    (invoice,) = write_corpus(tmp_path, iter([document]))
    not_a_document = tmp_path / "notes.pdf"
    not_a_document.write_text("just text, whatever the extension says", encoding="utf-8")
    completed = usine(claims_home[0], "claims", "extract", str(invoice), str(not_a_document))
    assert completed.returncode == 1
    assert "notes.pdf" in completed.stderr
    assert "Unsupported document" in completed.stderr
    (result,) = json.loads(completed.stdout)
    assert result["file_name"] == invoice.name
    assert result["text_source"] == "text_layer"
    assert result["invoice"]["number"]["value"] == document.truth["invoice.number"]
    assert result["bank_details"]["iban"]["value"] == document.truth["bank_details.iban"]
    assert result["status"]["state"] in ("done", "partial")


def test_evaluate_prints_field_scores_and_logs_them(claims_home: tuple[Path, ClaimsTrainingResult]) -> None:
    completed = usine(claims_home[0], "evaluate", "claims", "--documents", "4", "--scans", "0")
    assert completed.returncode == 0, completed.stderr
    assert "invoice.total_incl_tax" in completed.stdout
    assert "text PDFs: 4 documents, field F1" in completed.stdout
    assert "line_items.description" in completed.stdout  # line items scored in rows of their own
    assert "logged as MLflow run" in completed.stdout


def test_extract_without_a_trained_model_says_what_to_run(tmp_path: Path) -> None:
    document = tmp_path / "a.pdf"
    document.write_bytes(next(generate_documents(1, 1)).content)
    completed = usine(tmp_path / "empty-home", "claims", "extract", str(document))
    assert completed.returncode != 0
    assert "usine train claims" in completed.stderr
