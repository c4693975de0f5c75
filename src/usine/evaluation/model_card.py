"""The model card of one registered version, in Markdown and in self-contained HTML.

It follows the headings of Mitchell et al. (2019), "Model Cards for Model Reporting", with
what the EU AI Act asks of a high-risk system (Annex III, 5(b): creditworthiness of natural
persons) in mind: intended use, data, performance, fairness, limits, and how to reproduce it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

from usine.domain.fairness import FOUR_FIFTHS, AttributeFairness


@dataclass(frozen=True)
class CardFacts:
    """What the card states about one registered version."""

    name: str
    version: str
    run_id: str
    description: str
    intended_use: str
    limits: list[str]
    data_source: str
    data_sha256: str
    train_rows: int
    test_rows: int
    params: dict[str, object]
    metrics: dict[str, float]
    fairness: list[AttributeFairness]
    importance: dict[str, tuple[float, float]]
    reproducibility: dict[str, object]
    figures: dict[str, str] = field(default_factory=dict)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def card_markdown(facts: CardFacts) -> str:
    """The card as Markdown; figures are linked as ``figures/<name>.svg`` beside it."""
    top = sorted(facts.importance.items(), key=lambda item: -item[1][0])[:8]
    sections = [
        f"# Model card: {facts.name}, version {facts.version}",
        facts.description,
        f"MLflow run `{facts.run_id}`.",
        "## Intended use",
        facts.intended_use,
        "## Limits and risks",
        "\n".join(f"- {limit}" for limit in facts.limits),
        "## Data",
        _table(
            ["source", "SHA-256", "training rows", "held-out rows"],
            [
                [
                    f"`{facts.data_source}`",
                    f"`{facts.data_sha256}`",
                    str(facts.train_rows),
                    str(facts.test_rows),
                ]
            ],
        ),
        "## Training",
        _table(["parameter", "value"], [[k, f"`{v}`"] for k, v in facts.params.items()]),
        "## Held-out performance",
        _table(["metric", "value"], [[k, f"{v:.4f}"] for k, v in facts.metrics.items()]),
        _images(facts, ("ROC curve", "roc.svg"), ("Calibration", "calibration.svg")),
        _images(facts, ("Score distribution", "score_distribution.svg")),
        "## Feature importance (permutation, held-out ROC AUC drop)",
        _table(["feature", "mean drop", "std"], [[k, f"{m:.4f}", f"{s:.4f}"] for k, (m, s) in top]),
        _images(facts, ("Permutation importance", "permutation_importance.svg")),
        "## Fairness",
        *[_fairness_section(attribute) for attribute in facts.fairness],
        "## Reproducibility",
        _table(["item", "value"], [[k, f"`{v}`"] for k, v in facts.reproducibility.items()]),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _images(facts: CardFacts, *figures: tuple[str, str]) -> str:
    """Markdown images of the figures the run has (a brought model has none)."""
    present = {name.rsplit("/", 1)[-1] for name in facts.figures}
    return " ".join(f"![{alt}](figures/{file})" for alt, file in figures if file in present)


def _fairness_section(attribute: AttributeFairness) -> str:
    verdict = (
        f"**breaches the four-fifths rule** (< {FOUR_FIFTHS}): review before use"
        if attribute.four_fifths_breached
        else f"within the four-fifths rule (>= {FOUR_FIFTHS})"
    )
    rows = [
        [
            group.group,
            str(group.rows),
            f"{group.approval_rate:.3f}",
            f"{group.default_rate:.3f}",
            f"{group.roc_auc:.3f}" if group.roc_auc is not None else "n/a (one class)",
        ]
        for group in attribute.groups
    ]
    return "\n\n".join(
        [
            f"### {attribute.attribute}",
            f"Approved when the probability of default is below {attribute.threshold}. "
            "Disparate impact (lowest / highest approval rate): "
            f"{attribute.disparate_impact:.3f}, {verdict}.",
            _table(["group", "rows", "approval rate", "default rate", "ROC AUC"], rows),
            f"![{attribute.attribute}](figures/fairness_{attribute.attribute}.svg)",
        ]
    )


def card_html(facts: CardFacts) -> str:
    """The card as one HTML page, the figures inlined (it opens anywhere, offline)."""
    body = MarkdownIt("commonmark").enable("table").render(card_markdown(facts))
    for name, svg in facts.figures.items():
        image = name.rsplit("/", 1)[-1]
        body = _inline(body, f"figures/{image}", svg)
    title = html.escape(f"{facts.name} {facts.version}")
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Model card: {title}</title><style>"
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"
        "figure,svg{max-width:100%;height:auto}</style></head><body>\n"
        f"{body}</body></html>\n"
    )


def _inline(body: str, source: str, svg: str) -> str:
    """Replace every ``<img src=source ...>`` by the SVG document itself."""
    marker = f'<img src="{source}"'
    while marker in body:
        start = body.index(marker)
        end = body.index(">", start) + 1
        body = body[:start] + f"<figure>{svg}</figure>" + body[end:]
    return body
