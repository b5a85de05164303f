"""Registry aliases: who is ``production``, and whether a new version may take over.

Stages are deprecated in MLflow, so production is an alias that serving resolves
(``models:/<name>@production``). A new version takes it only if it scores at least as
well as the current production version on the SAME test split, measured now by loading
that version and scoring it; otherwise it becomes the ``challenger``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from amazon_sentiment.errors import ConfigError, PipelineError
from amazon_sentiment.registry import load_sklearn_model
from amazon_sentiment.settings import Settings
from amazon_sentiment.training.evaluation import evaluate, is_at_least_as_good
from amazon_sentiment.training.golden_sample import LabelledTexts

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromotionDecision:
    alias: str
    reason: str
    previous_version: str | None


def current_version(client: MlflowClient, model_name: str, alias: str) -> str | None:
    """The version ``alias`` points at, or None if the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        registered = client.get_registered_model(model_name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    version = registered.aliases.get(alias)
    return None if version is None else str(version)


def decide_promotion(
    client: MlflowClient,
    settings: Settings,
    *,
    new_version: str,
    new_test_metric: float,
    metric: str,
    test_split: LabelledTexts,
    force: bool,
) -> PromotionDecision:
    """Whether ``new_version`` takes the production alias or becomes the challenger."""
    production = settings.model_alias
    incumbent = current_version(client, settings.model_name, production)
    if incumbent is None or incumbent == new_version:
        return PromotionDecision(production, f"no {production} version yet", incumbent)
    if force:
        return PromotionDecision(
            production, f"--force given: replaces version {incumbent} unconditionally", incumbent
        )
    try:
        incumbent_model = load_sklearn_model(
            f"models:/{settings.model_name}/{incumbent}",
            tracking_uri=settings.mlflow_tracking_uri,
        )
        incumbent_metric = evaluate(
            test_split.labels, incumbent_model.predict_proba(test_split.texts)[:, 1]
        ).value(metric)
    except (PipelineError, ValueError, TypeError) as error:
        return PromotionDecision(
            settings.challenger_alias,
            f"{production} version {incumbent} could not be scored on this test split ({error}); "
            f"compare by hand, then `amazon-sentiment promote --version {new_version}`",
            incumbent,
        )
    comparison = (
        f"test {metric} {new_test_metric:.4f} vs {incumbent_metric:.4f} of {production} "
        f"version {incumbent} on the same test split"
    )
    if is_at_least_as_good(new_test_metric, incumbent_metric, metric):
        return PromotionDecision(production, f"{comparison}: at least as good", incumbent)
    return PromotionDecision(settings.challenger_alias, f"{comparison}: worse", incumbent)


def apply_decision(
    client: MlflowClient, settings: Settings, version: str, decision: PromotionDecision
) -> None:
    client.set_model_version_tag(
        settings.model_name, version, "promotion_decision", decision.reason
    )
    client.set_registered_model_alias(settings.model_name, decision.alias, version)


def promote_version(client: MlflowClient, settings: Settings, version: int) -> str | None:
    """Point the production alias at ``version`` by hand (also a rollback); the old one."""
    from mlflow.exceptions import MlflowException

    name, alias = settings.model_name, settings.model_alias
    try:
        client.get_model_version(name, str(version))
    except MlflowException as error:
        if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            raise ConfigError(f"model {name} has no version {version}") from None
        raise
    # A version whose model cannot be loaded must never become production.
    load_sklearn_model(f"models:/{name}/{version}", tracking_uri=settings.mlflow_tracking_uri)
    previous = current_version(client, name, alias)
    client.set_registered_model_alias(name, alias, str(version))
    client.set_model_version_tag(
        name,
        str(version),
        "promotion_decision",
        f"promoted by hand at {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} (was version {previous})",
    )
    return previous
