"""Your own tabular model, declared in a pipeline file: usine's blocks with your table's schema.

A pipeline file with a ``model:`` section declares a binary classifier of its own (what
``usine init`` scaffolds): the target and its two classes, the numeric inputs with their
domains, the categorical ones. The blocks are those of the credit pipeline (validate,
featurize, split, fit calibrated boosting, evaluate, compare, register, promote); the file
names the loader and may override any block's parameters.

    pipeline: churn
    model:
      target: churned
      classes: [stayed, left]          # negative first: the model scores the second
      numeric:
        tenure_months: {kind: integer, min: 0, max: 600}
      categorical: [contract]
    blocks:
      - load_csv: {path: data/sample.csv}
      - validate
      ...
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from usine.domain.features import FeatureKind
from usine.domain.validation import TableSchema
from usine.pipelines import credit
from usine.pipelines.blocks import Block, PipelineError, SplitStratified, Validate
from usine.pipelines.declaration import Declaration, read_declaration
from usine.pipelines.lifecycle import CompareWithChampion, Promote, Register
from usine.pipelines.modelling import Evaluate, Featurize, Fit, NumericDeclaration


@dataclass(frozen=True)
class Gate:
    """The promotion gate: minimum held-out AUC, the alias it moves, whether to beat the champion."""

    min_auc: float = 0.7
    alias: str = "champion"
    beat_champion: bool = True


class NumericInput(BaseModel):
    """A numeric input: integer or number, and the closed domain a request must lie in."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["integer", "number"] = "number"
    min: float
    max: float
    description: str = ""


class ModelDeclaration(BaseModel):
    """The ``model:`` section of a pipeline file."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    intended_use: str = ""
    limits: list[str] = []
    target: str
    classes: tuple[str, str]
    numeric: dict[str, NumericInput] = {}
    categorical: list[str] = []

    def numeric_declarations(self) -> dict[str, NumericDeclaration]:
        """The numeric inputs as the featurize block declares them."""
        return {
            name: (FeatureKind(spec.kind), spec.min, spec.max, spec.description)
            for name, spec in self.numeric.items()
        }


def read_model(section: Any) -> ModelDeclaration:
    """Read a ``model:`` section.

    Raises:
        PipelineError: a field is missing, unknown or of the wrong type (each one named).

    """
    try:
        return ModelDeclaration.model_validate(section)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'model'}: {error['msg']}"
            for error in exc.errors()
        )
        raise PipelineError(f"model section: {problems}") from None


def tabular_pipeline(model: ModelDeclaration, gate: Gate = Gate()) -> list[Block]:
    """The blocks a declared model may use, with its schema (the file names the loader)."""
    schema = TableSchema(
        target=model.target,
        classes=model.classes,
        numeric={name: (spec.min, spec.max) for name, spec in model.numeric.items()},
        categorical=tuple(model.categorical),
    )
    return [
        Validate(schema),
        Featurize(model.numeric_declarations()),
        SplitStratified(),
        Fit(credit.default_params()),
        Evaluate(),
        CompareWithChampion(gate.alias),
        Register(
            model.description,
            tuple(credit.SKOPS_TRUSTED_TYPES),
            model.intended_use,
            tuple(model.limits),
        ),
        Promote(gate.min_auc, gate.alias, gate.beat_champion),
    ]


def read_pipeline_file(
    path: Path, declared: dict[str, list[Block]] | None = None, gate: Gate = Gate()
) -> Declaration:
    """Read a pipeline file: a declared model of its own, or one of the ``declared`` Python pipelines.

    Raises:
        PipelineError: the file, its model section or its blocks are declared wrong.

    """
    return read_declaration(path, declared or {}, lambda section: tabular_pipeline(read_model(section), gate))
