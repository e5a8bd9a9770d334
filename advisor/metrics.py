"""Classification metrics in plain numpy: accuracy, macro-F1, per-class scores, ECE, confusion matrix."""

from __future__ import annotations

import numpy as np


def confusion(gold: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (gold, pred), 1)
    return matrix


def per_class(matrix: np.ndarray, labels: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for i, label in enumerate(labels):
        tp = matrix[i, i]
        predicted = matrix[:, i].sum()
        actual = matrix[i, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
                      "f1": round(float(f1), 4), "support": int(actual)}
    return out


def macro_f1(scores: dict[str, dict[str, float]]) -> float:
    present = [s["f1"] for s in scores.values() if s["support"] > 0]
    return round(float(np.mean(present)), 4) if present else 0.0


def ece(probs: np.ndarray, gold: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top-class confidence (equal-width bins)."""
    if len(gold) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == gold
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return round(float(total), 4)


def head_report(probs: np.ndarray, gold: np.ndarray, labels: list[str], pred: np.ndarray | None = None,
                languages: list[str | None] | None = None) -> dict:
    """Everything `ushauri eval classifier` prints for one head."""
    pred = probs.argmax(axis=1) if pred is None else pred
    matrix = confusion(gold, pred, len(labels))
    scores = per_class(matrix, labels)
    report = {
        "n": int(len(gold)),
        "accuracy": round(float((pred == gold).mean()), 4) if len(gold) else 0.0,
        "macro_f1": macro_f1(scores),
        "ece": ece(probs, gold),
        "per_class": scores,
        "confusion_matrix": {"labels": labels, "matrix": matrix.tolist()},
    }
    if languages is not None:
        by_language = {}
        for lang in sorted({lang for lang in languages if lang}):
            mask = np.array([lg == lang for lg in languages])
            sub = per_class(confusion(gold[mask], pred[mask], len(labels)), labels)
            by_language[lang] = {"n": int(mask.sum()), "accuracy": round(float((pred[mask] == gold[mask]).mean()), 4),
                                 "macro_f1": macro_f1(sub)}
        report["per_language"] = by_language
    return report


def recall_precision(gold_positive: np.ndarray, pred_positive: np.ndarray) -> tuple[float, float]:
    tp = int((gold_positive & pred_positive).sum())
    recall = tp / gold_positive.sum() if gold_positive.sum() else 1.0
    precision = tp / pred_positive.sum() if pred_positive.sum() else 1.0
    return round(float(recall), 4), round(float(precision), 4)


def emergency_report(gold_positive: np.ndarray, pred_positive: np.ndarray, languages: list[str | None]) -> dict:
    """Emergency recall and precision overall and per language."""
    recall, precision = recall_precision(gold_positive, pred_positive)
    out = {"emergency_recall": {"overall": recall}, "emergency_precision": {"overall": precision}}
    for lang in sorted({lang for lang in languages if lang}):
        mask = np.array([lg == lang for lg in languages])
        r, p = recall_precision(gold_positive[mask], pred_positive[mask])
        out["emergency_recall"][lang] = r
        out["emergency_precision"][lang] = p
    return out
