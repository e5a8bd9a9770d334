"""`ushauri train`, `ushauri eval classifier` and `ushauri export-model`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

import advisor
from advisor.classifier import Classifier
from advisor.report import evaluate_examples, summary_lines
from advisor.training import TrainConfig, train
from advisor.training_data import kb_question_examples, read_examples
from knowledge.errors import BadInputError
from knowledge.settings import PACKAGE_DATA
from knowledge.taxonomy import Taxonomy

from .common import DataDir, JsonFlag, handle_errors, settings_for

LABELLED = Path(advisor.__file__).resolve().parent / "data" / "labelled"
STARTER = PACKAGE_DATA / "starter"


@handle_errors
def train_command(
    data: Annotated[Path, typer.Option(help="Labelled messages: a folder with train.jsonl (validation.jsonl, "
                                            "test.jsonl) or one JSONL file, split stratified.")] = LABELLED,
    base_model: Annotated[str | None, typer.Option(help="Encoder to fine-tune (default: $USHAURI_CLASSIFIER_BASE_MODEL).")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Most epochs (early stopping may end sooner).")] = 8,
    lr: Annotated[float, typer.Option(help="Peak learning rate of the encoder (AdamW, warmup then linear decay; the heads get 20x).")] = 2e-4,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    max_length: Annotated[int, typer.Option(min=8, help="Tokens per message.")] = 64,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    lora: Annotated[bool, typer.Option("--lora", help="Train LoRA adapters (peft) instead of every weight.")] = False,
    kb_questions: Annotated[Path | None, typer.Option(
        help="Knowledge-base files whose question variants join training as topic examples "
             "(default: the starter knowledge base; --no-kb-questions to leave them out).")] = STARTER,
    no_kb_questions: Annotated[bool, typer.Option("--no-kb-questions", help="Train on the labelled messages alone.")] = False,
    seed: Annotated[int, typer.Option(help="Seed: the same seed and data give the same model.")] = 13,
    patience: Annotated[int, typer.Option(min=1, help="Epochs without a better validation macro-F1 before stopping.")] = 3,
    out: Annotated[Path | None, typer.Option(help="Folder to write (default: <data dir>/classifier).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Fine-tune the topic and urgency classifier and write its report."""
    if device not in ("auto", "cpu", "cuda"):
        raise BadInputError(f"unknown device '{device}'; use auto, cpu or cuda")
    settings = settings_for(data_dir)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise BadInputError("--device cuda: no CUDA device is available")
    config = TrainConfig(
        data=data, out=out or settings.classifier_dir, base_model=base_model or settings.classifier_base_model,
        epochs=epochs, lr=lr, batch_size=batch_size, max_length=max_length, device=device, lora=lora,
        seed=seed, patience=patience,
    )
    settings.ensure_dirs()
    extra = None if no_kb_questions or kb_questions is None else kb_examples(settings, kb_questions)
    train(config, settings.models_dir, typer.echo, extra=extra)


def kb_examples(settings, path: Path) -> list:
    """The question variants of knowledge-base files, as topic-only training examples."""
    return kb_question_examples([path], settings.languages, Taxonomy.load(settings.taxonomy_file))


@handle_errors
def eval_classifier(
    data: Annotated[Path, typer.Option(help="JSONL of labelled messages (topic and/or urgency).")],
    model: Annotated[Path | None, typer.Option(help="Trained folder (default: <data dir>/classifier).")] = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Accuracy, macro-F1, per-class scores, calibration (ECE), emergency recall per language, confusion matrix."""
    settings = settings_for(data_dir)
    taxonomy = Taxonomy.load(settings.taxonomy_file)
    classifier = Classifier.load(model or settings.classifier_dir, device=settings.device, topic_labels=taxonomy.labels)
    report = evaluate_examples(classifier, read_examples(data))
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    for line in summary_lines(report):
        typer.echo(line)
    for head, r in report.items():
        typer.echo(f"\n{head}: per class (precision / recall / F1 / n)")
        for label, s in r["per_class"].items():
            typer.echo(f"  {label:28} {s['precision']:.3f} {s['recall']:.3f} {s['f1']:.3f} {s['support']:>5}")
        if "per_language" in r:
            typer.echo("  per language: " + ", ".join(
                f"{lang} macro-F1 {v['macro_f1']:.3f} (n={v['n']})" for lang, v in r["per_language"].items()))
        cm = r["confusion_matrix"]
        typer.echo("  confusion matrix (rows true, columns predicted): " + " ".join(cm["labels"]))
        for label, row in zip(cm["labels"], cm["matrix"]):
            typer.echo(f"  {label:28} " + " ".join(f"{v:>3}" for v in row))


@handle_errors
def export_model(
    quantize: Annotated[str, typer.Option(help="Quantization: int8.")] = "int8",
    model: Annotated[Path | None, typer.Option(help="Trained folder (default: <data dir>/classifier).")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder to write (default: <model>-int8).")] = None,
    data: Annotated[Path, typer.Option(help="Messages to measure F1 and latency on.")] = LABELLED / "test.jsonl",
    data_dir: DataDir = None,
) -> None:
    """Write a quantized copy of the classifier, with its F1 and latency change in the model card."""
    from advisor.export import quantize_int8

    if quantize != "int8":
        raise BadInputError(f"unknown quantization '{quantize}'; use int8")
    settings = settings_for(data_dir)
    source = model or settings.classifier_dir
    target = out or source.with_name(source.name + "-int8")
    figures = quantize_int8(source, target, read_examples(data))
    typer.echo(f"wrote {target}")
    for head in figures["macro_f1"]["float"]:
        typer.echo(f"  {head} macro-F1: float {figures['macro_f1']['float'][head]:.4f}, int8 {figures['macro_f1']['int8'][head]:.4f}")
    for batch, values in figures["latency_ms_per_message"].items():
        typer.echo(f"  ms per message ({batch}): float {values['float']:.2f}, int8 {values['int8']:.2f}")
    typer.echo(f"  weights: float {figures['size_mb']['float']} MB, int8 {figures['size_mb']['int8']} MB")
