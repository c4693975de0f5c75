"""Controlled shifts of input data, to show what monitoring sees when traffic drifts."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from usine.domain.errors import InvalidShift
from usine.domain.features import FeatureKind, FeatureSpec

SHIFT = re.compile(r"^(?P<feature>[A-Za-z0-9_]+)(?P<op>[*+=])(?P<value>[^@]+)(?:@(?P<share>[0-9.]+))?$")


@dataclass(frozen=True)
class Shift:
    """One change applied to a feature of a share of the rows.

    ``*`` multiplies and ``+`` adds to a numeric feature; ``=`` sets a categorical feature
    to a category. ``share`` is the fraction of rows changed.
    """

    feature: str
    operation: str
    value: str
    share: float = 1.0


def parse_shift(text: str, features: list[FeatureSpec]) -> Shift:
    """Read ``credit_amount*1.5``, ``age_in_years+10`` or ``purpose=A43@0.5`` against the contract.

    Raises:
        InvalidShift: the text is malformed, names no feature, or does not fit its kind.

    """
    match = SHIFT.match(text.strip())
    if not match:
        raise InvalidShift(f"{text!r}: write feature*factor, feature+offset or feature=category[@share]")
    specs = {f.name: f for f in features}
    name, operation, value = match["feature"], match["op"], match["value"]
    share = float(match["share"]) if match["share"] else 1.0
    if name not in specs:
        raise InvalidShift(f"{text!r}: the model has no feature {name!r}")
    if not 0 < share <= 1:
        raise InvalidShift(f"{text!r}: the share must lie in (0, 1]")
    spec = specs[name]
    if spec.kind is FeatureKind.CATEGORY:
        if operation != "=" or (spec.categories and value not in spec.categories):
            raise InvalidShift(
                f"{text!r}: {name} takes feature=category, one of {', '.join(spec.categories)}"
            )
    else:
        try:
            float(value)
        except ValueError:
            raise InvalidShift(f"{text!r}: {name} is numeric; write {name}*factor or {name}+offset") from None
        if operation == "=":
            raise InvalidShift(f"{text!r}: {name} is numeric; write {name}*factor or {name}+offset")
    return Shift(feature=name, operation=operation, value=value, share=share)


def apply_shifts(
    frame: pd.DataFrame, shifts: list[Shift], features: list[FeatureSpec], rng: np.random.Generator
) -> pd.DataFrame:
    """A copy of ``frame`` with each shift applied to a random share of its rows.

    Numbers stay inside the feature's declared domain (and integers stay integers), so the
    shifted records are still valid requests.
    """
    shifted = frame.copy()
    specs = {f.name: f for f in features}
    for shift in shifts:
        spec = specs[shift.feature]
        rows = rng.uniform(size=len(shifted)) < shift.share
        column = shifted[shift.feature]
        if spec.kind is FeatureKind.CATEGORY:
            shifted.loc[rows, shift.feature] = shift.value
            continue
        value = float(shift.value)
        moved = column.astype(float) * value if shift.operation == "*" else column.astype(float) + value
        low = -np.inf if spec.minimum is None else spec.minimum
        high = np.inf if spec.maximum is None else spec.maximum
        moved = moved.clip(low, high)
        if spec.kind is FeatureKind.INTEGER:
            moved = moved.round()
        shifted[shift.feature] = column.where(~rows, moved.astype(column.dtype))
    return shifted
