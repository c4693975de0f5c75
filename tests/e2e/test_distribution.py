"""The distribution a user installs from an index: the sdist rebuilds into a complete wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

UV = Path(sys.executable).parent / "uv"
ROOT = Path(__file__).resolve().parents[2]


def test_the_sdist_rebuilds_a_wheel_with_the_data_migrations_and_templates(tmp_path: Path) -> None:
    subprocess.run(
        [str(UV), "build", "--quiet", "--sdist", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    [sdist] = tmp_path.glob("usine_ml-*.tar.gz")
    subprocess.run(
        [str(UV), "build", "--quiet", "--wheel", "--out-dir", str(tmp_path / "wheel"), str(sdist)],
        check=True,
        timeout=300,
    )
    [wheel] = (tmp_path / "wheel").glob("usine_ml-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(name for name in names if name.endswith("entry_points.txt"))
        assert "usine = usine.cli:main" in archive.read(entry_points).decode()
    for needed in (
        "usine/datasets/german_credit.csv",
        "usine/datasets/ATTRIBUTION.md",
        "usine/adapters/db/migrations/versions/0001_create_prediction_log.py",
        "usine/model_wheel/scoring.py",
        "usine/adapters/db/migrations/versions/0002_create_claim_tables.py",
        "usine/ui/templates/claims.html.j2",
        "usine/ui/static/claims.js",
        "usine/ui/static/claims.css",
    ):
        assert needed in names
    assert not any(name.startswith(("tests/", "deploy/")) for name in names)
