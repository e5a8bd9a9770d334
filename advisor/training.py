"""`ushauri train`: fine-tune the classifier, calibrate it, choose its thresholds and write its report."""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from knowledge.embedder import pick_device, resolve_model

from .classifier import EMERGENCY, META_FILE, WEIGHTS_FILE, Classifier, MultiHeadModel, softmax
from .metrics import ece, head_report
from .report import evaluate_examples, model_card, plot_confusion, plot_curves, summary_lines
from .training_data import Dataset, Example, load_dataset


@dataclass
class TrainConfig:
    data: Path
    out: Path
    base_model: str
    epochs: int = 8
    lr: float = 2e-4
    batch_size: int = 32
    max_length: int = 64
    device: str = "auto"
    lora: bool = False
    lora_r: int = 16
    seed: int = 13
    warmup: float = 0.1
    weight_decay: float = 0.01
    patience: int = 3
    head_lr_factor: float = 20.0  # the new heads start from random weights: they learn faster
    noise: float = 0.1  # share of words typed with a slip (or dropped) in each training epoch; 0: none
    emergency_recall_target: float = 0.97
    topic_min_confidence: float = 0.35


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def encode(tokenizer, examples: list[Example], max_length: int) -> list[list[int]]:
    return tokenizer([e.text for e in examples], truncation=True, max_length=max_length)["input_ids"]


def batches(ids: list[list[int]], targets: dict[str, np.ndarray], size: int, pad: int,
            order: list[int] | None = None):
    order = list(range(len(ids))) if order is None else order
    for start in range(0, len(order), size):
        chosen = order[start:start + size]
        width = max(len(ids[i]) for i in chosen)
        input_ids = torch.full((len(chosen), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chosen), width), dtype=torch.long)
        for row, i in enumerate(chosen):
            input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
            mask[row, : len(ids[i])] = 1
        yield input_ids, mask, {head: torch.as_tensor(values[chosen]) for head, values in targets.items()}


def bucketed_order(ids: list[list[int]], batch_size: int, rng: random.Random) -> list[int]:
    """A shuffled order whose batches hold messages of similar length (less padding, faster steps):
    shuffle, sort by length within windows of 50 batches, then shuffle the batches."""
    order = list(range(len(ids)))
    rng.shuffle(order)
    window = batch_size * 50
    batched = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: len(ids[i]))
        batched += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batched)
    return [i for batch in batched for i in batch]


IGNORE = -100  # target of a head an example carries no label for (the loss skips it)


def noisy(text: str, rng: random.Random, rate: float) -> str:
    """The message as a person might have typed it: a few words dropped, a few letters slipped.
    Applied afresh each epoch, so the model sees many spellings of each training message."""
    words = text.split()
    out = []
    for word in words:
        roll = rng.random()
        if roll < rate / 2 and len(words) > 3:
            continue  # dropped word
        if roll < rate and len(word) > 3:
            i = rng.randrange(len(word) - 1)
            word = word[:i] + word[i + 1] + word[i] + word[i + 2:] if rng.random() < 0.5 else word[:i] + word[i + 1:]
        out.append(word)
    return " ".join(out) or text


def targets_of(dataset: Dataset, examples: list[Example]) -> dict[str, np.ndarray]:
    return {head: np.array([dataset.labels[head].index(e.labels[head]) if head in e.labels else IGNORE
                            for e in examples]) for head in dataset.heads}


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """The temperature that minimises the validation negative log-likelihood (grid, then refine)."""
    def nll(t: float) -> float:
        probs = softmax(logits, t)
        return float(-np.log(probs[np.arange(len(gold)), gold] + 1e-12).mean())

    grid = np.exp(np.linspace(np.log(0.05), np.log(10.0), 200))
    best = min(grid, key=nll)
    fine = np.linspace(best * 0.9, best * 1.1, 41)
    return float(min(fine, key=nll))


def emergency_threshold(p_emergency: np.ndarray, is_emergency: np.ndarray, target: float) -> float:
    """The highest threshold whose recall on these examples is at least `target`."""
    scores = np.sort(p_emergency[is_emergency])[::-1]
    if len(scores) == 0:
        return 0.5
    needed = int(np.ceil(target * len(scores)))
    return float(min(0.5, scores[needed - 1]))


def count_parameters(model: nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def train(config: TrainConfig, models_dir: Path, echo: Callable[[str], None] = print,
          extra: list[Example] | None = None) -> dict:
    """Train, calibrate, save the folder and return its metrics. `extra` examples (e.g. the
    knowledge base's question variants, topic only) join the training split."""
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    started = time.perf_counter()
    dataset = load_dataset(config.data, seed=config.seed)
    # Extra topic-only examples (knowledge-base questions) for topics the labelled data knows.
    extra = [e for e in extra or [] if "topic" in dataset.heads and e.labels["topic"] in dataset.labels["topic"]]
    seed_everything(config.seed)
    device = pick_device(config.device)
    location = resolve_model(config.base_model, models_dir)
    tokenizer = AutoTokenizer.from_pretrained(location)
    encoder = AutoModel.from_pretrained(location)
    if config.lora:
        from peft import LoraConfig, get_peft_model

        encoder = get_peft_model(encoder, LoraConfig(
            r=config.lora_r, lora_alpha=2 * config.lora_r, lora_dropout=0.1,
            target_modules=["query", "key", "value", "dense"],
        ))
    model = MultiHeadModel(encoder, {head: len(labels) for head, labels in dataset.labels.items()}).to(device)
    trainable, total = count_parameters(model)
    echo(f"training on {device}: {len(dataset.train)} messages"
         + (f" and {len(extra)} knowledge-base questions (topic only)" if extra else "")
         + f", validation {len(dataset.validation)}, "
         f"heads {', '.join(f'{h} ({len(l)})' for h, l in dataset.labels.items())}; "
         f"{trainable:,} of {total:,} parameters trainable")

    train_ids = encode(tokenizer, dataset.train + extra, config.max_length)
    val_ids = encode(tokenizer, dataset.validation, config.max_length)
    train_targets = targets_of(dataset, dataset.train + extra)
    val_targets = targets_of(dataset, dataset.validation)
    steps_per_epoch = (len(train_ids) + config.batch_size - 1) // config.batch_size
    total_steps = steps_per_epoch * config.epochs
    head_params = list(model.heads.parameters())
    head_ids = {id(p) for p in head_params}
    encoder_params = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    optimizer = torch.optim.AdamW([
        {"params": encoder_params, "lr": config.lr},
        {"params": head_params, "lr": config.lr * config.head_lr_factor},
    ], weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup * total_steps), total_steps)
    use_amp = device == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE, reduction="sum")

    def batch_loss(outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean cross-entropy of each head over the examples that carry its label, summed over heads."""
        total = torch.zeros((), device=device)
        for head in dataset.heads:
            gold = targets[head].to(device)
            labelled = int((gold != IGNORE).sum())
            if labelled:
                total = total + loss_fn(outputs[head].float(), gold) / labelled
        return total

    generator = random.Random(config.seed)

    def validation_logits() -> dict[str, np.ndarray]:
        model.eval()
        out: dict[str, list[np.ndarray]] = {head: [] for head in dataset.heads}
        with torch.inference_mode(), torch.autocast(device, dtype=amp_dtype, enabled=use_amp):
            for input_ids, mask, _ in batches(val_ids, val_targets, 128, tokenizer.pad_token_id):
                for head, value in model(input_ids.to(device), mask.to(device)).items():
                    out[head].append(value.float().cpu().numpy())
        model.train()
        return {head: np.concatenate(parts) for head, parts in out.items()}

    history: dict = {"train_loss": [], "val_loss": [], "val_macro_f1": {head: [] for head in dataset.heads}}
    best_score, best_state, best_epoch, stale = -1.0, None, 0, 0
    model.train()
    train_examples = dataset.train + extra
    for epoch in range(1, config.epochs + 1):
        if config.noise > 0 and epoch > 1:  # the first epoch sees the messages as written
            train_ids = tokenizer([noisy(e.text, generator, config.noise) for e in train_examples],
                                  truncation=True, max_length=config.max_length)["input_ids"]
        order = bucketed_order(train_ids, config.batch_size, generator)
        bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch}/{config.epochs}", unit="step", leave=False)
        running = None
        for input_ids, mask, targets in batches(train_ids, train_targets, config.batch_size, tokenizer.pad_token_id, order):
            with torch.autocast(device, dtype=amp_dtype, enabled=use_amp):
                outputs = model(input_ids.to(device), mask.to(device))
                loss = batch_loss(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            value = float(loss.detach())
            history["train_loss"].append(value)
            running = value if running is None else 0.9 * running + 0.1 * value
            bar.set_postfix(loss=f"{running:.3f}")
            bar.update(1)
        bar.close()
        logits = validation_logits()
        val_loss = float(sum(
            -np.log(softmax(logits[h])[np.arange(len(val_targets[h])), val_targets[h]] + 1e-12).mean()
            for h in dataset.heads))
        history["val_loss"].append(val_loss)
        scores = {}
        for head in dataset.heads:
            report = head_report(softmax(logits[head]), val_targets[head], dataset.labels[head])
            scores[head] = report["macro_f1"]
            history["val_macro_f1"][head].append(report["macro_f1"])
        score = float(np.mean(list(scores.values())))
        echo(f"epoch {epoch}: training loss {running:.3f}, validation loss {val_loss:.3f}, macro-F1 "
             + ", ".join(f"{h} {s:.3f}" for h, s in scores.items()))
        if score > best_score:
            best_score, best_epoch, stale = score, epoch, 0
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        else:
            stale += 1
            if stale >= config.patience:
                echo(f"early stop: no better validation macro-F1 for {config.patience} epochs")
                break
    model.load_state_dict(best_state)
    train_seconds = time.perf_counter() - started

    # Calibration and thresholds on validation --------------------------------------------
    logits = validation_logits()
    calibration, temperatures = {}, {}
    for head in dataset.heads:
        t = fit_temperature(logits[head], val_targets[head])
        temperatures[head] = t
        calibration[head] = {"temperature": round(t, 4),
                             "ece_before": ece(softmax(logits[head]), val_targets[head]),
                             "ece_after": ece(softmax(logits[head], t), val_targets[head])}
    meta = {
        "format": 1,
        "base_model": config.base_model,
        "heads": dataset.labels,
        "max_length": config.max_length,
        "temperatures": temperatures,
        "topic_min_confidence": config.topic_min_confidence,
        "data_hash": dataset.data_hash,
        "hyperparameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if "urgency" in dataset.labels and EMERGENCY in dataset.labels["urgency"]:
        e = dataset.labels["urgency"].index(EMERGENCY)
        p = softmax(logits["urgency"], temperatures["urgency"])[:, e]
        meta["emergency_threshold"] = emergency_threshold(p, val_targets["urgency"] == e, config.emergency_recall_target)
        meta["emergency_recall_target"] = config.emergency_recall_target

    # Save ------------------------------------------------------------------------------
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if config.lora:
        model.encoder = model.encoder.merge_and_unload()
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(out / WEIGHTS_FILE))
    model.encoder.config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False))

    classifier = Classifier.load(out, device=device)
    metrics = {
        "device": device, "train_seconds": round(train_seconds, 1), "epochs_run": len(history["val_loss"]),
        "best_epoch": best_epoch, "trainable_parameters": trainable, "total_parameters": total,
        "data": {"train": len(dataset.train), "kb_questions": len(extra), "validation": len(dataset.validation),
                 "test": len(dataset.test)},
        "calibration": calibration, "history": history,
        "validation": evaluate_examples(classifier, dataset.validation),
        "test": evaluate_examples(classifier, dataset.test) if dataset.test else None,
    }
    if "emergency_threshold" in meta:
        metrics["emergency_threshold"] = meta["emergency_threshold"]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    plot_curves(history, out / "curves.png")
    for split in ("validation", "test"):
        for head, report in (metrics[split] or {}).items():
            cm = report["confusion_matrix"]
            plot_confusion(cm["matrix"], cm["labels"], f"{head} ({split})", out / f"confusion_{head}_{split}.png")
    (out / "MODEL_CARD.md").write_text(model_card(meta, metrics))

    echo(f"trained in {train_seconds:.0f} s on {device} ({metrics['epochs_run']} epochs, best {best_epoch}); "
         f"saved to {out}")
    for head, c in calibration.items():
        echo(f"calibration {head}: temperature {c['temperature']:.2f}, ECE {c['ece_before']:.3f} -> {c['ece_after']:.3f}")
    if "emergency_threshold" in meta:
        echo(f"emergency threshold {meta['emergency_threshold']:.4f} (recall >= {config.emergency_recall_target} on validation)")
    for split in ("validation", "test"):
        if metrics[split]:
            echo(f"{split}:")
            for line in summary_lines(metrics[split]):
                echo("  " + line)
    return metrics
