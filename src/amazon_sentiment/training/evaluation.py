"""Scoring a classifier on one split: the metrics MLflow records and their plots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from amazon_sentiment.model import LABELS
from amazon_sentiment.training.config import LOWER_IS_BETTER

PLOT_NAMES: tuple[str, str, str] = (
    "confusion_matrix.png",
    "roc_curve.png",
    "precision_recall_curve.png",
)


@dataclass(frozen=True)
class ClassificationMetrics:
    """Binary metrics with the positive class (label 1) as the one of interest."""

    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    log_loss: float

    def as_dict(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}{name}": value for name, value in asdict(self).items()}

    def value(self, metric: str) -> float:
        return float(getattr(self, metric))


def evaluate(
    labels: npt.NDArray[np.int64], positive_probabilities: npt.NDArray[np.floating]
) -> ClassificationMetrics:
    """Metrics of the probabilities of label 1, thresholded at 0.5 as ``predict`` does."""
    predicted = (positive_probabilities > 0.5).astype(np.int64)
    return ClassificationMetrics(
        accuracy=float(accuracy_score(labels, predicted)),
        precision=float(precision_score(labels, predicted, zero_division=0)),
        recall=float(recall_score(labels, predicted, zero_division=0)),
        f1=float(f1_score(labels, predicted, zero_division=0)),
        roc_auc=float(roc_auc_score(labels, positive_probabilities)),
        log_loss=float(log_loss(labels, positive_probabilities, labels=[0, 1])),
    )


def is_better(candidate: float, incumbent: float, metric: str) -> bool:
    """Whether ``candidate`` beats ``incumbent`` on ``metric`` (ties are not better)."""
    if metric in LOWER_IS_BETTER:
        return candidate < incumbent
    return candidate > incumbent


def is_at_least_as_good(candidate: float, incumbent: float, metric: str) -> bool:
    return not is_better(incumbent, candidate, metric)


def write_plots(
    labels: npt.NDArray[np.int64],
    positive_probabilities: npt.NDArray[np.floating],
    folder: Path,
    *,
    title: str,
) -> list[Path]:
    """Confusion matrix, ROC and precision-recall curves as PNG files in ``folder``."""
    import matplotlib

    # Chosen here, not at import: a headless backend for a process that never shows plots.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes
    from sklearn.metrics import (
        ConfusionMatrixDisplay,
        PrecisionRecallDisplay,
        RocCurveDisplay,
    )

    predicted = (positive_probabilities > 0.5).astype(np.int64)
    paths = [folder / name for name in PLOT_NAMES]
    drawings: tuple[Callable[[Axes], object], ...] = (
        lambda ax: ConfusionMatrixDisplay.from_predictions(
            labels, predicted, display_labels=list(LABELS), ax=ax, colorbar=False
        ),
        lambda ax: RocCurveDisplay.from_predictions(labels, positive_probabilities, ax=ax),
        lambda ax: PrecisionRecallDisplay.from_predictions(labels, positive_probabilities, ax=ax),
    )
    for path, draw in zip(paths, drawings, strict=True):
        figure, axes = plt.subplots(figsize=(5, 4.5), dpi=100)
        try:
            draw(axes)
            axes.set_title(title)
            figure.tight_layout()
            figure.savefig(path)
        finally:
            plt.close(figure)
    return paths
