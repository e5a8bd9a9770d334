"""The fine-tuned message classifier: one transformer encoder, one linear head per label field.

A trained folder holds the weights (model.safetensors, or model.int8.pt for a quantized copy),
the encoder's config.json, the tokenizer, and `ushauri_classifier.json`: label maps, base model
id, training-data hash, hyper-parameters, calibration temperatures and decision thresholds.
Inference is batched, under torch.inference_mode(), and returns calibrated probabilities.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from knowledge.embedder import pick_device
from knowledge.errors import ModelError

META_FILE = "ushauri_classifier.json"
WEIGHTS_FILE = "model.safetensors"
INT8_FILE = "model.int8.pt"
EMERGENCY = "emergency"
UNKNOWN = "unknown"
URGENCY_LABELS = {"emergency", "urgent", "routine"}


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-6)


class MultiHeadModel(nn.Module):
    """Encoder, mean pooling, dropout, then one linear head per label field."""

    def __init__(self, encoder: nn.Module, head_sizes: dict[str, int], dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, size) for name, size in head_sizes.items()})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.dropout(mean_pool(hidden, attention_mask))
        return {name: head(pooled) for name, head in self.heads.items()}


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def check_labels(meta: dict, topic_labels: list[str] | None) -> None:
    """A folder whose labels do not match the taxonomy fails, listing the differences."""
    problems = []
    if topic_labels is not None and "topic" in meta["heads"]:
        have, want = set(meta["heads"]["topic"]), set(topic_labels)
        if have != want:
            if want - have:
                problems.append(f"missing topics: {', '.join(sorted(want - have))}")
            if have - want:
                problems.append(f"topics not in the taxonomy: {', '.join(sorted(have - want))}")
    if "urgency" in meta["heads"] and not set(meta["heads"]["urgency"]) <= URGENCY_LABELS:
        problems.append(f"unknown urgency labels: {', '.join(sorted(set(meta['heads']['urgency']) - URGENCY_LABELS))}")
    if problems:
        raise ModelError("the classifier's labels do not match the taxonomy: " + "; ".join(problems))


@dataclass
class Classifier:
    """A loaded classifier, ready for batched inference."""

    model: nn.Module
    tokenizer: object
    meta: dict
    device: str
    folder: Path | None = None

    @property
    def heads(self) -> dict[str, list[str]]:
        return self.meta["heads"]

    @classmethod
    def load(cls, folder: Path, device: str = "auto", topic_labels: list[str] | None = None,
             threads: int | None = None) -> "Classifier":
        """Load a trained folder; with topic_labels, check them against the taxonomy."""
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        folder = Path(folder)
        meta_path = folder / META_FILE
        if not meta_path.exists():
            raise ModelError(f"{folder} holds no trained classifier (no {META_FILE}); run `ushauri train`")
        meta = json.loads(meta_path.read_text())
        check_labels(meta, topic_labels)
        device = pick_device(device)
        if device == "cpu":
            torch.set_num_threads(threads or max(1, min(os.cpu_count() or 1, 8)))
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder))
        model = MultiHeadModel(encoder, {head: len(labels) for head, labels in meta["heads"].items()})
        if meta.get("quantized") == "int8":
            device = "cpu"  # dynamic int8 kernels run on the CPU
            model = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
            state = torch.load(folder / INT8_FILE, map_location="cpu", weights_only=False)
        else:
            from safetensors.torch import load_file

            state = load_file(str(folder / WEIGHTS_FILE))
        model.load_state_dict(state)
        model.to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder)
        return cls(model, tokenizer, meta, device, folder)

    # Inference --------------------------------------------------------------------------
    def logits(self, texts: list[str], batch_size: int = 64) -> dict[str, np.ndarray]:
        out: dict[str, list[np.ndarray]] = {head: [] for head in self.heads}
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    texts[start:start + batch_size], padding=True, truncation=True,
                    max_length=self.meta["max_length"], return_tensors="pt",
                ).to(self.device)
                result = self.model(batch["input_ids"], batch["attention_mask"])
                for head, value in result.items():
                    out[head].append(value.float().cpu().numpy())
        return {head: np.concatenate(parts) if parts else np.zeros((0, len(self.heads[head])))
                for head, parts in out.items()}

    def probabilities(self, texts: list[str], batch_size: int = 64) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head (temperature scaling fitted on validation)."""
        temperatures = self.meta.get("temperatures", {})
        return {head: softmax(values, temperatures.get(head, 1.0))
                for head, values in self.logits(texts, batch_size).items()}

    def decide(self, head: str, probs: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Indices and labels after the decision rules: the emergency threshold for urgency,
        `unknown` for a topic below the confidence threshold."""
        labels = self.heads[head]
        index = probs.argmax(axis=1)
        if head == "urgency" and EMERGENCY in labels and "emergency_threshold" in self.meta:
            e = labels.index(EMERGENCY)
            others = probs.copy()
            others[:, e] = -1
            index = np.where(probs[:, e] >= self.meta["emergency_threshold"], e, others.argmax(axis=1))
        names = [labels[i] for i in index]
        if head == "topic":
            floor = self.meta.get("topic_min_confidence", 0.0)
            names = [UNKNOWN if probs[row].max() < floor else name for row, name in enumerate(names)]
        return index, names

    def predict(self, texts: list[str], batch_size: int = 64) -> list[dict[str, dict]]:
        """For each text: {head: {"label": ..., "p": ...}}, probabilities calibrated."""
        probs = self.probabilities(texts, batch_size)
        decided = {head: self.decide(head, values) for head, values in probs.items()}
        results = []
        for row in range(len(texts)):
            item = {}
            for head, (index, names) in decided.items():
                item[head] = {"label": names[row], "p": round(float(probs[head][row, index[row]]), 4)}
            results.append(item)
        return results
