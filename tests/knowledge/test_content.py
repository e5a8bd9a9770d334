"""Checks on the starter content a deployment starts with (knowledge/data, advisor/data)."""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from knowledge.formats import read_entries
from knowledge.settings import PACKAGE_DATA
from knowledge.taxonomy import Taxonomy

LANGS = ["en", "sw", "fr"]
TAXONOMY = Taxonomy.load(PACKAGE_DATA / "taxonomy.yaml")
STARTER = sorted((PACKAGE_DATA / "starter").glob("*.jsonl"))
EVAL = sorted((PACKAGE_DATA / "eval").glob("*.jsonl"))
LABELLED = Path(__file__).resolve().parents[2] / "advisor" / "data" / "labelled"
URGENCIES = {"emergency", "urgent", "routine"}
# A number followed by a unit of dose or rate: doses and rates never appear in the starter content.
DOSE = re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|ml/kg|mg/kg|g/l|ml/l|l/ha|kg/ha|g/ha|ml per litre|tablets?)\b", re.I)


@pytest.fixture(scope="module")
def entries():
    found = [entry for path in STARTER for entry in read_entries(path, LANGS, TAXONOMY)]
    assert found, "no starter entries"
    return found


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_enough_entries_per_domain(entries):
    domains = Counter(e.domain for e in entries)
    assert len(entries) >= 150 and domains["agriculture"] >= 80 and domains["health"] >= 70
    assert all(e.status == "published" for e in entries)


def test_no_duplicate_ids_across_files():
    ids = [json.loads(line)["id"] for path in STARTER for line in path.read_text().splitlines() if line.strip()]
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_every_entry_is_complete(entries):
    for e in entries:
        assert set(e.answers) == set(LANGS), e.id
        assert len(e.questions.get("en", [])) >= 3 and len(e.questions.get("sw", [])) >= 2, e.id
        assert len(e.questions.get("fr", [])) >= 1, e.id
        assert e.source.strip() and len(e.source) >= 8, e.id
        assert TAXONOMY.domain_of(e.topic) == e.domain, e.id
        for lang, answer in e.answers.items():
            assert len(answer) <= 480, f"{e.id} {lang}: {len(answer)} characters"
        for lang, detail in e.details.items():
            assert len(detail) <= 1200, f"{e.id} {lang} details"
        for qs in e.questions.values():
            assert all(3 <= len(q) <= 300 for q in qs), e.id


def test_no_doses_or_rates(entries):
    for e in entries:
        for text in [*e.answers.values(), *e.details.values()]:
            assert not DOSE.search(text), f"{e.id}: {DOSE.search(text).group(0)}"


def test_every_topic_has_at_least_three_entries(entries):
    counts = Counter(e.topic for e in entries)
    assert {t: counts[t] for t in TAXONOMY.topics if counts[t] < 3} == {}


def test_urgent_entries_exist_for_danger_signs(entries):
    urgent = {e.id for e in entries if e.urgent}
    assert len(urgent) >= 15
    assert any("snake" in i for i in urgent) and any("bleeding" in i for i in urgent)


def test_evaluation_questions_point_at_entries_in_all_languages(entries):
    ids = {e.id for e in entries}
    queries = [q for path in EVAL for q in read_jsonl(path)]
    assert len(queries) >= 300
    assert Counter(q["language"] for q in queries).keys() == set(LANGS)
    assert all(set(q["relevant_ids"]) <= ids for q in queries)


def test_evaluation_questions_are_not_copies_of_question_variants(entries):
    variants = [" ".join(q.lower().split()) for e in entries for qs in e.questions.values() for q in qs]
    for path in EVAL:
        for q in read_jsonl(path):
            text = " ".join(q["query"].lower().split())
            close = difflib.get_close_matches(text, variants, n=1, cutoff=0.85)
            assert not close, f"{q['query']!r} is a near-copy of {close[0]!r}"


@pytest.mark.slow
def test_no_near_duplicate_questions_across_entries(entries, embedder):
    texts, owners = [], []
    for e in entries:
        for qs in e.questions.values():
            texts += qs
            owners += [e.id] * len(qs)
    vectors = embedder.encode(texts)
    sims = vectors @ vectors.T
    owners = np.array(owners)
    different = owners[:, None] != owners[None, :]
    i, j = np.where((sims > 0.95) & different)
    pairs = {(texts[a], texts[b]) for a, b in zip(i, j) if a < b}
    assert pairs == set()


# Labelled messages ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def splits():
    return {name: read_jsonl(LABELLED / f"{name}.jsonl") for name in ("train", "validation", "test")}


def test_labelled_messages_are_valid(splits):
    labels = set(TAXONOMY.labels)
    total = 0
    for name, rows in splits.items():
        for i, row in enumerate(rows, 1):
            assert row["text"].strip(), f"{name}:{i}"
            assert row["language"] in LANGS and row["topic"] in labels, f"{name}:{i}"
            assert row["urgency"] in URGENCIES, f"{name}:{i}"
        total += len(rows)
    assert total >= 3000


def test_every_label_has_forty_messages(splits):
    counts = Counter(row["topic"] for rows in splits.values() for row in rows)
    assert {label: counts[label] for label in TAXONOMY.labels if counts[label] < 40} == {}


def test_emergencies_in_every_language_of_every_split(splits):
    for name, rows in splits.items():
        emergencies = Counter(row["language"] for row in rows if row["urgency"] == "emergency")
        assert all(emergencies[lang] >= 20 for lang in LANGS), (name, emergencies)


def test_no_test_text_is_a_near_copy_of_a_train_text(splits):
    def norm(text):
        return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())

    train = {norm(row["text"]) for row in splits["train"]}
    train_list = sorted(train)
    near = []
    for row in splits["test"]:
        text = norm(row["text"])
        if len(text) < 12:  # "hello", "asante": short greetings repeat by nature
            continue
        if text in train or difflib.get_close_matches(text, train_list, n=1, cutoff=0.9):
            near.append(row["text"])
    assert near == []
