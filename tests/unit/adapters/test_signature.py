import pytest
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema, TensorSpec

from usine.adapters.registry import features_from_signature, signature_for
from usine.domain.errors import ModelNotFound
from usine.domain.features import FeatureKind, FeatureSpec

FEATURES = [
    FeatureSpec(name="age", kind=FeatureKind.INTEGER, minimum=18),
    FeatureSpec(name="amount", kind=FeatureKind.NUMBER),
    FeatureSpec(name="housing", kind=FeatureKind.CATEGORY, categories=("own", "rent")),
]


def test_the_signature_declares_each_feature_with_its_mlflow_type() -> None:
    signature = signature_for(FEATURES)
    assert signature.inputs.to_dict() == [
        {"name": "age", "type": "long", "required": True},
        {"name": "amount", "type": "double", "required": True},
        {"name": "housing", "type": "string", "required": True},
    ]
    assert signature.outputs.input_names() == ["score"]


def test_features_are_derived_back_from_a_signature() -> None:
    derived = features_from_signature(signature_for(FEATURES))
    assert [(f.name, f.kind) for f in derived] == [(f.name, f.kind) for f in FEATURES]


def test_a_signature_without_column_names_cannot_be_served() -> None:
    import numpy as np

    tensor = ModelSignature(inputs=Schema([TensorSpec(np.dtype("float64"), (-1, 3))]))
    with pytest.raises(ModelNotFound, match="names no input"):
        features_from_signature(tensor)


def test_an_unsupported_column_type_is_named() -> None:
    signature = ModelSignature(inputs=Schema([ColSpec("binary", "photo")]))
    with pytest.raises(ModelNotFound, match="photo"):
        features_from_signature(signature)
