"""Progress display of multi-stage work (training, loading)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class StageProgress:
    """Shows each stage with a spinner while it runs and a tick with its duration once done."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.current: TaskID | None = None

    def __call__(self, stage: str) -> None:
        """Close the running stage and start ``stage``."""
        self.finish()
        self.current = self.progress.add_task(stage, total=1)

    def finish(self) -> None:
        """Mark the running stage as done."""
        if self.current is not None:
            self.progress.update(self.current, completed=1)
            self.current = None


@contextmanager
def stages(console: Console) -> Iterator[StageProgress]:
    """A live stage display on ``console``; the last stage is closed on exit."""
    columns = (SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        tracker = StageProgress(progress)
        yield tracker
        tracker.finish()
