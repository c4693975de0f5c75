#!/usr/bin/env bash
# Debian packages usine needs beside its Python dependencies, installed only when missing:
#   tesseract-ocr, tesseract-ocr-fra  OCR of scanned claim files (pytesseract calls the binary)
#   chromium, chromium-driver         the headless browser the UI and report tests drive
#   wrk                               the HTTP load generator of benchmarks/serving.py
# Usage: system-deps.sh [ocr] [browser] [bench]   (make install asks for ocr, make test for both)
# Needs root (or sudo) and apt; elsewhere it says what to install and stops with an error.
set -euo pipefail

missing=()
for part in "$@"; do
  case "$part" in
    ocr)
      command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
      tesseract --list-langs 2>/dev/null | grep -qx fra || missing+=(tesseract-ocr-fra)
      ;;
    browser)
      command -v chromium >/dev/null 2>&1 || missing+=(chromium)
      command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
      ;;
    bench)
      command -v wrk >/dev/null 2>&1 || missing+=(wrk)
      ;;
    *) echo "unknown part: $part (ocr, browser, bench)" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! command -v apt-get >/dev/null 2>&1 || { [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; }; then
  echo "usine needs these Debian/Ubuntu packages: ${missing[*]} — install them and run again" >&2
  exit 1
fi
echo "installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
