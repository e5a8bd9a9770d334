"""Measuring a classifier and writing its report: metrics, plots and the model card."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from knowledge.errors import BadInputError, ImportFileError

from .classifier import EMERGENCY, Classifier
from .metrics import emergency_report, head_report
from .training_data import Example


def evaluate_examples(classifier: Classifier, examples: list[Example], batch_size: int = 64) -> dict:
    """`ushauri eval classifier`: per head in both the model and the data, the full report."""
    heads = [head for head in classifier.heads if all(head in e.labels for e in examples)]
    if not heads:
        raise BadInputError(f"the data carries none of the model's label fields ({', '.join(classifier.heads)})")
    texts = [e.text for e in examples]
    languages = [e.language for e in examples]
    probs = classifier.probabilities(texts, batch_size)
    report = {}
    for head in heads:
        labels = classifier.heads[head]
        unknown = [e for e in examples if e.labels[head] not in labels]
        if unknown:
            e = unknown[0]
            raise ImportFileError(e.file, e.line, head, f"label '{e.labels[head]}' is not one the model knows")
        gold = np.array([labels.index(e.labels[head]) for e in examples])
        index, _ = classifier.decide(head, probs[head])
        report[head] = head_report(probs[head], gold, labels, pred=index, languages=languages)
        if head == "urgency" and EMERGENCY in labels:
            e = labels.index(EMERGENCY)
            report[head].update(emergency_report(gold == e, index == e, languages))
    return report


def plot_curves(history: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    steps = np.arange(1, len(history["train_loss"]) + 1)
    loss = np.asarray(history["train_loss"])
    window = max(1, len(loss) // 30)
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid") if len(loss) >= window else loss
    left.plot(steps[: len(smooth)], smooth, label="training loss (smoothed)")
    epochs = np.arange(1, len(history["val_loss"]) + 1)
    steps_per_epoch = len(loss) / max(1, len(epochs))
    left.plot(epochs * steps_per_epoch, history["val_loss"], "o-", label="validation loss")
    left.set_xlabel("step")
    left.set_ylabel("loss")
    left.legend()
    for head, values in history["val_macro_f1"].items():
        right.plot(epochs, values, "o-", label=f"{head} macro-F1")
    right.set_xlabel("epoch")
    right.set_ylabel("validation macro-F1")
    right.set_ylim(0, 1)
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(matrix: list[list[int]], labels: list[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.asarray(matrix)
    size = max(4, 0.4 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if values[i, j]:
                ax.text(j, i, str(values[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if values[i, j] > values.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summary_lines(report: dict) -> list[str]:
    lines = []
    for head, r in report.items():
        line = f"{head:8} n={r['n']:<5} accuracy {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  ECE {r['ece']:.3f}"
        if "emergency_recall" in r:
            per_lang = ", ".join(f"{k} {v:.3f}" for k, v in r["emergency_recall"].items() if k != "overall")
            line += (f"  emergency recall {r['emergency_recall']['overall']:.3f} ({per_lang})"
                     f"  precision {r['emergency_precision']['overall']:.3f}")
        lines.append(line)
    return lines


def model_card(meta: dict, metrics: dict) -> str:
    hp = meta["hyperparameters"]
    lines = [
        "# Ushauri message classifier",
        "",
        f"Fine-tuned from `{meta['base_model']}` to label a message's topic and urgency "
        "(heads: " + ", ".join(f"`{h}` ({len(l)} labels)" for h, l in meta["heads"].items()) + ").",
        "",
        "## Training",
        "",
        f"- data hash `{meta['data_hash']}`: {metrics['data']['train']} training messages"
        f" and {metrics['data'].get('kb_questions', 0)} knowledge-base questions (topic only), "
        f"{metrics['data']['validation']} validation and {metrics['data']['test']} test messages",
        f"- {hp['epochs']} epochs at most, early stopping on validation macro-F1 (best epoch {metrics['best_epoch']} "
        f"of {metrics['epochs_run']}), AdamW lr {hp['lr']}, batch {hp['batch_size']}, max length {hp['max_length']}, "
        f"warmup {hp['warmup']}, weight decay {hp['weight_decay']}, seed {hp['seed']}",
        f"- {'LoRA adapters (r=' + str(hp['lora_r']) + ')' if hp['lora'] else 'full fine-tuning'}: "
        f"{metrics['trainable_parameters']:,} trainable of {metrics['total_parameters']:,} parameters",
        f"- device {metrics['device']}, {metrics['train_seconds']:.0f} s",
        "",
        "## Calibration and decisions",
        "",
        "| head | temperature | ECE before | ECE after (validation) |",
        "| --- | --- | --- | --- |",
    ]
    for head, c in metrics["calibration"].items():
        lines.append(f"| {head} | {c['temperature']:.3f} | {c['ece_before']:.4f} | {c['ece_after']:.4f} |")
    lines += [""]
    if "emergency_threshold" in meta:
        lines.append(f"Emergency threshold {meta['emergency_threshold']:.4f}: the highest that keeps emergency "
                     f"recall >= {meta['emergency_recall_target']} on validation.")
    lines.append(f"Topics below a calibrated probability of {meta['topic_min_confidence']} are `unknown`.")
    for split in ("validation", "test"):
        if metrics.get(split):
            lines += ["", f"## {split.capitalize()} figures", "", *[f"- {line}" for line in summary_lines(metrics[split])]]
    lines += [
        "",
        "## Use and limits",
        "",
        "It routes messages inside Ushauri; it does not give advice. Urgency never rests on it alone:",
        "the engine adds keyword rules for danger signs on top. It was trained on short messages in English,",
        "Swahili and French written for the starter data set; measure it on real messages before relying on it.",
    ]
    if meta.get("quantized"):
        lines += ["", "## Quantization", "", *meta.get("quantization_notes", [])]
    return "\n".join(lines) + "\n"
