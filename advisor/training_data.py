"""Labelled messages for the classifier: reading, checking and splitting.

Format (JSONL, design.md): {"text": "...", "language": "sw", "topic": "...", "urgency": "emergency|urgent|routine"}.
Every label field present becomes a head; a file may carry only `topic`, or only `urgency`.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import ImportFileError
from knowledge.formats import jsonl_objects

LABEL_FIELDS = ("topic", "urgency")
SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class Example:
    text: str
    language: str | None
    labels: dict[str, str]
    file: str
    line: int


def read_examples(path: Path) -> list[Example]:
    """Every example of a JSONL file; a bad line raises ImportFileError naming file, line and field."""
    path = Path(path)
    examples = []
    for number, data in jsonl_objects(path):
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ImportFileError(str(path), number, "text", "is missing or empty")
        labels = {}
        for name in LABEL_FIELDS:
            if name in data:
                if not isinstance(data[name], str) or not data[name].strip():
                    raise ImportFileError(str(path), number, name, "must be a non-empty label")
                labels[name] = data[name].strip()
        if not labels:
            raise ImportFileError(str(path), number, None, f"no label field; give one of {', '.join(LABEL_FIELDS)}")
        language = data.get("language")
        examples.append(Example(text.strip(), language if isinstance(language, str) else None, labels, str(path), number))
    if not examples:
        raise ImportFileError(str(path), None, None, "holds no examples")
    return examples


def heads_of(examples: list[Example]) -> list[str]:
    """The label fields every example carries (in LABEL_FIELDS order); a partial field is an error."""
    heads = [name for name in LABEL_FIELDS if any(name in e.labels for e in examples)]
    for name in heads:
        missing = next((e for e in examples if name not in e.labels), None)
        if missing is not None:
            raise ImportFileError(missing.file, missing.line, name, "is missing (other lines of the data carry it)")
    return heads


def stratified_split(examples: list[Example], key: str, fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Split keeping each label's share; every label keeps at least one example on the big side."""
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.labels[key]].append(example)
    rng = random.Random(seed)
    big, small = [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        cut = min(len(group) - 1, round(len(group) * fraction))
        small += group[:cut]
        big += group[cut:]
    return big, small


@dataclass
class Dataset:
    """Train and validation examples (and test, when the data has it), checked."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]
    heads: list[str]
    labels: dict[str, list[str]]  # head -> labels in a stable order
    data_hash: str


def file_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(Path(path).name.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def kb_question_examples(paths: list[Path], languages: list[str], taxonomy) -> list[Example]:
    """The question variants of knowledge-base files as topic-only training examples: expert-written
    ways of asking about each topic, in every language the entries have."""
    from knowledge.formats import files_in, read_entries

    examples = []
    for path in files_in(paths):
        for entry in read_entries(path, languages, taxonomy):
            for lang, questions in entry.questions.items():
                examples += [Example(q, lang, {"topic": entry.topic}, str(path), 0) for q in questions]
    return examples


def load_dataset(data: Path, seed: int = 13, validation_fraction: float = 0.15) -> Dataset:
    """A folder with train.jsonl (and validation.jsonl, test.jsonl), or one file split stratified."""
    data = Path(data)
    if data.is_dir():
        files = {name: data / f"{name}.jsonl" for name in SPLIT_NAMES if (data / f"{name}.jsonl").exists()}
        if "train" not in files:
            raise ImportFileError(str(data), None, None, "a data folder needs train.jsonl")
    elif data.exists():
        files = {"train": data}
    else:
        raise ImportFileError(str(data), None, None, "no such file or folder")
    splits = {name: read_examples(path) for name, path in files.items()}
    train = splits["train"]
    heads = heads_of(train)
    if "validation" not in splits:
        train, validation = stratified_split(train, heads[0], validation_fraction, seed)
    else:
        validation = splits["validation"]
    test = splits.get("test", [])

    counts = {head: Counter(e.labels[head] for e in train) for head in heads}
    for head in heads:
        for label, n in counts[head].items():
            if n < 2:
                example = next(e for e in train if e.labels[head] == label)
                raise ImportFileError(example.file, example.line, head,
                                      f"label '{label}' has {n} training example; each label needs at least 2")
    for split in (validation, test):
        for example in split:
            for head in heads:
                label = example.labels.get(head)
                if label is None:
                    raise ImportFileError(example.file, example.line, head, "is missing")
                if label not in counts[head]:
                    raise ImportFileError(example.file, example.line, head,
                                          f"unknown label '{label}' (not in the training data; known: "
                                          f"{', '.join(sorted(counts[head]))})")
    labels = {head: sorted(counts[head]) for head in heads}
    return Dataset(train, validation, test, heads, labels, file_hash(list(files.values())))
