"""Blocks that bring a fitted model into the registry: compare with the champion, register, promote.

The registry's aliases are a small state machine. ``register`` creates version N and points
``challenger`` at it; ``compare`` (run before it) scored the current ``champion`` on the very
held-out rows the challenger was evaluated on; ``promote`` moves ``champion`` to N when the
gate passes (held-out ROC AUC at least the minimum, and, when asked, at least the champion's on
the same rows) and then clears ``challenger``. The version ``champion`` left is remembered, so
``usine rollback`` is one command away; a refused challenger keeps its alias until the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from usine import __version__
from usine.adapters.registry import TrainingRun
from usine.domain.errors import UsineError
from usine.domain.metrics import classification_metrics
from usine.domain.model_spec import ModelSpec
from usine.evaluation.model_card import CardFacts, card_html, card_markdown
from usine.pipelines.blocks import Block, ChampionComparison, RunState, need
from usine.services.reproducibility import reproducibility_record

CHALLENGER = "challenger"
CHAMPION = "champion"


@dataclass(frozen=True)
class CompareWithChampion(Block):
    """Score the current champion on the challenger's held-out rows."""

    alias: str = CHAMPION
    kind: ClassVar[str] = "compare"
    needs: ClassVar[tuple[str, ...]] = ("metrics",)
    gives: ClassVar[tuple[str, ...]] = ("champion",)

    def run(self, state: RunState) -> None:
        """Load and score the champion, if there is one that reads these inputs."""
        inputs, target = state.inputs_and_target(state.test_frame, "split")
        with state.tracking() as registry:
            version = registry.version_for_alias(state.model_name, self.alias)
            if version is None:
                state.champion = ChampionComparison(None, None, f"no {self.alias} yet")
                return
            loaded = registry.load(state.model_name, version)
        columns = [feature.name for feature in loaded.spec.features]
        if [c for c in columns if c not in inputs.columns]:
            state.champion = ChampionComparison(version, None, "the champion reads other inputs")
            return
        classes = [str(label) for label in loaded.model.classes_]
        scores = loaded.model.predict_proba(inputs[columns])[:, classes.index(loaded.spec.positive_class)]
        state.champion = ChampionComparison(version, classification_metrics(target, scores))


@dataclass(frozen=True)
class Register(Block):
    """Log the run (metrics, figures, data, reproducibility record, model) and register it as challenger.

    A registration that fails after the version exists deletes that version again.
    """

    description: str
    trusted_types: tuple[str, ...] = ()
    intended_use: str = ""
    limits: tuple[str, ...] = ()
    kind: ClassVar[str] = "register"
    needs: ClassVar[tuple[str, ...]] = ("metrics",)
    gives: ClassVar[tuple[str, ...]] = ("version",)

    def run(self, state: RunState) -> None:
        """Log, register, alias, and attach the model card."""
        schema = need(state.schema, "schema")
        metrics = need(state.metrics, "metrics")
        train_inputs, _ = state.inputs_and_target(state.train_frame, "split")
        test_inputs, _ = state.inputs_and_target(state.test_frame, "split")
        spec = ModelSpec(
            name=state.model_name,
            description=self.description,
            target=schema.target,
            classes=schema.classes,
            positive_class=schema.classes[1],
            features=need(state.features, "features"),
            reference=need(state.reference, "reference"),
            metrics=metrics,
            data_sha256=state.sha256,
        )
        record = reproducibility_record(
            seed=state.seed,
            data_source=state.source,
            data_sha256=state.sha256,
            rows=len(need(state.frame, "frame")),
            definition=state.definition,
        )
        champion = state.champion
        if champion is not None and champion.metrics is not None:
            state.extra_metrics.update({f"champion_{k}": v for k, v in champion.metrics.items()})
        params = {
            **state.params,
            "seed": state.seed,
            "train_rows": len(train_inputs),
            "test_rows": len(test_inputs),
        }
        with state.tracking() as registry:
            logged = registry.log_training(
                TrainingRun(
                    run_name=f"{state.model_name}-seed{state.seed}",
                    params=params,
                    metrics={**metrics, **state.extra_metrics},
                    tags={
                        "usine.model": state.model_name,
                        "usine.version": __version__,
                        "usine.git_commit": record["git"]["commit"],
                        "usine.data_sha256": state.sha256,
                        "usine.scikit_learn": record["packages"]["scikit-learn"],
                    },
                    training_frame=train_inputs,
                    data_source=state.source,
                    spec=spec,
                    model=need(state.model, "model"),
                    trusted_types=list(self.trusted_types),
                    artifacts={**state.artifacts, "reproducibility/record.json": record},
                    texts=state.texts,
                    run_id=state.run_id,
                )
            )
            state.run_id = logged.run_id
            version = registry.register(state.model_name, logged, metrics)
            try:
                registry.set_alias(state.model_name, CHALLENGER, version)
                facts = CardFacts(
                    name=state.model_name,
                    version=version,
                    run_id=logged.run_id,
                    description=self.description,
                    intended_use=self.intended_use,
                    limits=list(self.limits),
                    data_source=state.source,
                    data_sha256=state.sha256,
                    train_rows=len(train_inputs),
                    test_rows=len(test_inputs),
                    params=params,
                    metrics=metrics,
                    fairness=state.fairness,
                    importance={
                        name: (float(v["mean_auc_drop"]), float(v["std"]))
                        for name, v in state.artifacts.get("evaluation/importance.json", {}).items()
                    },
                    reproducibility={
                        "git commit": record["git"]["commit"],
                        **record["packages"],
                        "seed": state.seed,
                    },
                    figures={k: v for k, v in state.texts.items() if k.endswith(".svg")},
                )
                registry.log_texts(
                    logged.run_id,
                    {
                        "evaluation/model_card.md": card_markdown(facts),
                        "evaluation/model_card.html": card_html(facts),
                    },
                )
            except (UsineError, OSError, ValueError, RuntimeError):
                registry.remove_alias(state.model_name, CHALLENGER)
                registry.delete_version(state.model_name, version)
                raise
        state.version = version


@dataclass(frozen=True)
class Promote(Block):
    """The gate: move ``alias`` to the challenger when it is good enough, then clear ``challenger``."""

    min_auc: float = 0.7
    alias: str = CHAMPION
    beat_champion: bool = True
    kind: ClassVar[str] = "promote"
    needs: ClassVar[tuple[str, ...]] = ("version",)

    def run(self, state: RunState) -> None:
        """Apply the gate."""
        auc = need(state.metrics, "metrics")["roc_auc"]
        champion = state.champion.metrics if state.champion is not None else None
        beats = not self.beat_champion or champion is None or auc >= champion["roc_auc"]
        state.alias = self.alias
        state.promoted = auc >= self.min_auc and beats
        if state.promoted:
            with state.tracking() as registry:
                registry.set_alias(state.model_name, self.alias, need(state.version, "version"))
                registry.remove_alias(state.model_name, CHALLENGER)
