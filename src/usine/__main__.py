"""``python -m usine``: the same as the ``usine`` command."""

from usine.cli import main

main()
