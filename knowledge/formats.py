"""Knowledge-base files: JSONL, CSV and YAML, in the nested form or the flat form of design.md.

Nested: one record an entry, `questions` and `answers` keyed by language.
Flat:   one record a question-answer pair, `{"id", "question", "answer", "language", "domain",
        "topic"}`; records with the same id are merged into one entry.
Reading checks the whole file before anything is imported, and the first problem raises
ImportFileError naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import yaml

from .entry import Entry, EntryProblem, entry_from_dict
from .errors import ImportFileError
from .taxonomy import Taxonomy

FORMATS = ("jsonl", "csv", "yaml")
SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}
FLAT_FIELDS = ("question", "answer", "language")
ENTRY_FIELDS = ("id", "domain", "topic", "urgent", "source", "status", "version")


def format_of(path: Path) -> str:
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ImportFileError(str(path), None, None, f"unknown file type '{path.suffix}'; use .jsonl, .csv or .yaml") from None


def files_in(paths: Iterable[Path]) -> list[Path]:
    """The knowledge-base files named, folders expanded to the files they hold (sorted)."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES))
        elif path.exists():
            found.append(path)
        else:
            raise ImportFileError(str(path), None, None, "no such file or folder")
    return found


# Reading ------------------------------------------------------------------------------------

def _jsonl_records(path: Path, text: str) -> Iterable[tuple[int, object]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFileError(str(path), number, None, f"malformed JSON: {exc.msg}") from None


def jsonl_objects(path: Path) -> Iterable[tuple[int, dict]]:
    """(line number, object) for each non-empty line of a JSONL file; ImportFileError on a line
    that is not a JSON object, or a file that cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(str(path), None, None, f"cannot read: {exc}") from None
    for number, data in _jsonl_records(path, text):
        if not isinstance(data, dict):
            raise ImportFileError(str(path), number, None, "each line must be an object")
        yield number, data


def _yaml_records(path: Path, text: str) -> Iterable[tuple[int, object]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ImportFileError(str(path), mark.line + 1 if mark else None, None, f"malformed YAML: {exc}") from None
    if data is None:
        return
    if isinstance(data, dict) and "entries" in data:
        node = next(value for key, value in node.value if key.value == "entries")
        data = data["entries"]
    if not isinstance(data, list):
        raise ImportFileError(str(path), 1, None, "a YAML knowledge base is a list of entries")
    for item_node, item in zip(node.value, data):
        yield item_node.start_mark.line + 1, item


def _csv_records(path: Path, text: str) -> Iterable[tuple[int, object]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise ImportFileError(str(path), 1, "id", "the CSV header has no 'id' column")
    flat = all(name in reader.fieldnames for name in FLAT_FIELDS)
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ImportFileError(str(path), line, None, "more cells than header columns")
        row = {key: (value if value is not None else "") for key, value in row.items()}
        if flat:
            yield line, {key: value for key, value in row.items() if value != ""}
            continue
        record: dict = {key: row[key] for key in ENTRY_FIELDS if row.get(key, "") != ""}
        for column, value in row.items():
            if not value or "_" not in column:
                continue
            kind, _, lang = column.rpartition("_")
            if kind == "questions":
                record.setdefault("questions", {})[lang] = [q for q in value.splitlines() if q.strip()]
            elif kind in ("answer", "detail"):
                record.setdefault(f"{kind}s", {})[lang] = value
        yield line, record


READERS = {"jsonl": _jsonl_records, "yaml": _yaml_records, "csv": _csv_records}


def _merge_flat(path: Path, line: int, record: dict, merged: dict) -> None:
    """Fold one flat record into the nested record for its id."""
    for name in ("id", "language", "question", "answer"):
        if not record.get(name):
            raise ImportFileError(str(path), line, name, "is missing")
    lang = str(record["language"]).strip().lower()
    target = merged.setdefault(record["id"], {"id": record["id"], "questions": {}, "answers": {}, "_line": line})
    for name in ("domain", "topic", "urgent", "source", "status", "version"):
        if name in record:
            if name in target and target[name] != record[name]:
                raise ImportFileError(
                    str(path), line, name,
                    f"entry '{record['id']}' has conflicting values ('{target[name]}' at line {target['_line']})",
                )
            target[name] = record[name]
    answer = target["answers"].get(lang)
    if answer is not None and " ".join(answer.split()) != " ".join(str(record["answer"]).split()):
        raise ImportFileError(str(path), line, "answer", f"entry '{record['id']}' has two different '{lang}' answers")
    target["answers"][lang] = record["answer"]
    questions = target["questions"].setdefault(lang, [])
    if record["question"] not in questions:
        questions.append(record["question"])


def read_entries(path: Path, languages: list[str], taxonomy: Taxonomy) -> list[Entry]:
    """Every entry of one file, checked; raises ImportFileError on the first problem."""
    path = Path(path)
    fmt = format_of(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(str(path), None, None, f"cannot read: {exc}") from None
    records: list[tuple[int, dict]] = []
    flat: dict[str, dict] = {}
    for line, record in READERS[fmt](path, text):
        if not isinstance(record, dict):
            raise ImportFileError(str(path), line, None, "each record must be an object")
        if "questions" not in record and "answers" not in record and "question" in record:
            _merge_flat(path, line, record, flat)
        else:
            records.append((line, record))
    records.extend((record.pop("_line"), record) for record in flat.values())

    entries: dict[str, tuple[int, Entry]] = {}
    for line, record in records:
        try:
            entry = entry_from_dict(record, languages, taxonomy)
        except EntryProblem as exc:
            raise ImportFileError(str(path), line, exc.field, str(exc)) from None
        if entry.id in entries:
            first_line, first = entries[entry.id]
            if first.content_hash() != entry.content_hash():
                raise ImportFileError(
                    str(path), line, "id",
                    f"duplicate id '{entry.id}' with different content (first at line {first_line})",
                )
            continue
        entries[entry.id] = (line, entry)
    return [entry for _, entry in entries.values()]


# Writing ------------------------------------------------------------------------------------

def _csv_columns(entries: list[Entry]) -> list[str]:
    languages = sorted({lang for entry in entries for lang in entry.languages})
    columns = list(ENTRY_FIELDS)
    for lang in languages:
        columns += [f"questions_{lang}", f"answer_{lang}", f"detail_{lang}"]
    return columns


def write_entries(entries: list[Entry], fmt: str, out: IO[str]) -> None:
    """Write entries in the nested form; what this writes, read_entries reads back unchanged."""
    if fmt == "jsonl":
        for entry in entries:
            out.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
    elif fmt == "yaml":
        yaml.safe_dump([entry.to_dict() for entry in entries], out, allow_unicode=True, sort_keys=False, width=100)
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=_csv_columns(entries), lineterminator="\n")
        writer.writeheader()
        for entry in entries:
            row = {name: getattr(entry, name) for name in ENTRY_FIELDS}
            row["urgent"] = "true" if entry.urgent else "false"
            for lang, questions in entry.questions.items():
                row[f"questions_{lang}"] = "\n".join(questions)
            for lang, answer in entry.answers.items():
                row[f"answer_{lang}"] = answer
            for lang, detail in entry.details.items():
                row[f"detail_{lang}"] = detail
            writer.writerow(row)
    else:
        raise ValueError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
