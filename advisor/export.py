"""`ushauri export-model --quantize int8`: a dynamically quantized copy for CPU inference, measured."""

from __future__ import annotations

import json
import shutil
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from .classifier import INT8_FILE, META_FILE, WEIGHTS_FILE, Classifier
from .report import evaluate_examples, model_card
from .training_data import Example


def latency_ms(classifier: Classifier, texts: list[str], batch_size: int, repeat: int) -> float:
    """Median milliseconds per message, in batches of `batch_size`."""
    classifier.logits(texts[:batch_size], batch_size)  # warm up
    samples = []
    for i in range(repeat):
        start_index = (i * batch_size) % max(1, len(texts) - batch_size)
        chunk = texts[start_index:start_index + batch_size]
        start = time.perf_counter()
        classifier.logits(chunk, batch_size)
        samples.append((time.perf_counter() - start) * 1000 / len(chunk))
    return round(statistics.median(samples), 3)


def head_f1(report: dict) -> dict[str, float]:
    return {head: r["macro_f1"] for head, r in report.items()}


def quantize_int8(source: Path, out: Path, examples: list[Example], repeat: int = 30) -> dict:
    """Write the int8 copy into `out` and measure F1 and latency against the float model."""
    source, out = Path(source), Path(out)
    if out.resolve() == source.resolve():
        from knowledge.errors import BadInputError

        raise BadInputError("--out must differ from --model")
    float_model = Classifier.load(source, device="cpu")
    quantized = torch.ao.quantization.quantize_dynamic(float_model.model, {nn.Linear}, dtype=torch.qint8)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out, ignore=shutil.ignore_patterns(WEIGHTS_FILE, "*.png"))
    torch.save(quantized.state_dict(), out / INT8_FILE)
    meta = json.loads((source / META_FILE).read_text())
    meta["quantized"] = "int8"
    (out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False))

    int8_model = Classifier.load(out, device="cpu")
    texts = [e.text for e in examples]
    figures = {
        "messages": len(examples),
        "macro_f1": {"float": head_f1(evaluate_examples(float_model, examples)),
                     "int8": head_f1(evaluate_examples(int8_model, examples))},
        "latency_ms_per_message": {
            "batch_1": {"float": latency_ms(float_model, texts, 1, repeat), "int8": latency_ms(int8_model, texts, 1, repeat)},
            "batch_32": {"float": latency_ms(float_model, texts, 32, max(5, repeat // 5)),
                         "int8": latency_ms(int8_model, texts, 32, max(5, repeat // 5))},
        },
        "size_mb": {"float": round((source / WEIGHTS_FILE).stat().st_size / 1e6, 1),
                    "int8": round((out / INT8_FILE).stat().st_size / 1e6, 1)},
    }
    notes = [f"Dynamic int8 quantization of every linear layer (torch.ao.quantization.quantize_dynamic), "
             f"measured on {len(examples)} messages on the CPU with {torch.get_num_threads()} threads:", "",
             "| figure | float | int8 |", "| --- | --- | --- |"]
    for head in figures["macro_f1"]["float"]:
        notes.append(f"| {head} macro-F1 | {figures['macro_f1']['float'][head]:.4f} | {figures['macro_f1']['int8'][head]:.4f} |")
    for batch, values in figures["latency_ms_per_message"].items():
        notes.append(f"| ms per message, {batch.replace('_', ' ')} | {values['float']:.2f} | {values['int8']:.2f} |")
    notes.append(f"| weights, MB | {figures['size_mb']['float']} | {figures['size_mb']['int8']} |")
    meta["quantization_notes"] = notes
    meta["quantization"] = figures
    (out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    metrics["quantization"] = figures
    metrics_path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    if metrics.get("calibration"):
        (out / "MODEL_CARD.md").write_text(model_card(meta, metrics))
    return figures
