"""Run invoice2data on files, one at a time, and print one JSON line per file with its timings.

Runs inside ``benchmarks/.venv-invoice2data`` (never usine's venv); called by ``claims.py``.
CPU time counts the child processes invoice2data starts (pdftotext, tesseract, ImageMagick).
"""

import json
import logging
import os
import sys
import time

from invoice2data import extract_data
from invoice2data.extract.loader import read_templates


def cpu_seconds() -> float:
    """CPU time of this process and its finished children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    """``worker.py TEMPLATES INPUT_MODULE FILE...``."""
    logging.disable(logging.CRITICAL)
    templates = read_templates(sys.argv[1])
    for path in sys.argv[3:]:
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = extract_data(path, templates=templates, input_module=sys.argv[2]) or {}
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        print(json.dumps({"file": path, "wall": wall, "cpu": cpu, "result": result}, default=str))


if __name__ == "__main__":
    main()
