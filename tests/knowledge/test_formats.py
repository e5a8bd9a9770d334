import io
import json

import pytest

from knowledge.base import KnowledgeBase
from knowledge.errors import ImportFileError
from knowledge.formats import read_entries, write_entries
from knowledge.taxonomy import Taxonomy
from knowledge.settings import PACKAGE_DATA

LANGS = ["en", "sw", "fr"]
TAXONOMY = Taxonomy.load(PACKAGE_DATA / "taxonomy.yaml")
GOOD = {"id": "agri-a", "domain": "agriculture", "topic": "pests", "questions": {"en": ["q?"]},
        "answers": {"en": "a."}, "source": "FAO"}


def write_jsonl(path, records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


@pytest.mark.parametrize(
    "bad, line, field, message",
    [
        ('{"id": "agri-b", "domain": ', 2, None, "malformed JSON"),
        ({**GOOD, "id": "agri-b", "topic": None}, 2, "topic", "is missing"),
        ({**GOOD, "id": "agri-b", "answers": {"xx": "a."}}, 2, "answers.xx", "unknown language code 'xx'; configured: en, sw, fr"),
        ({**GOOD, "id": "agri-b", "answers": {"en": "   "}}, 2, "answers.en", "is empty"),
        ({**GOOD, "answers": {"en": "different"}}, 2, "id", "duplicate id 'agri-a' with different content"),
        ({**GOOD, "id": "agri-b", "topic": "football"}, 2, "topic", "unknown topic 'football'"),
        ({**GOOD, "id": "Bad Id"}, 2, "id", "not a valid id"),
    ],
)
def test_bad_jsonl_names_file_line_and_field(tmp_path, bad, line, field, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD, bad])
    with pytest.raises(ImportFileError) as info:
        read_entries(path, LANGS, TAXONOMY)
    err = info.value
    assert (err.file, err.line, err.field) == (str(path), line, field)
    assert message in str(err)
    assert str(err).startswith(f"{path}:{line}: ")


def test_identical_duplicate_is_accepted(tmp_path):
    path = write_jsonl(tmp_path / "dup.jsonl", [GOOD, GOOD])
    assert [e.id for e in read_entries(path, LANGS, TAXONOMY)] == ["agri-a"]


def test_flat_rows_merge_into_one_entry(tmp_path):
    rows = [
        {"id": "agri-a", "question": "q1?", "answer": "a.", "language": "en", "domain": "agriculture", "topic": "pests"},
        {"id": "agri-a", "question": "q2?", "answer": "a.", "language": "en", "domain": "agriculture", "topic": "pests"},
        {"id": "agri-a", "question": "s1?", "answer": "jibu.", "language": "sw"},
    ]
    (entry,) = read_entries(write_jsonl(tmp_path / "flat.jsonl", rows), LANGS, TAXONOMY)
    assert entry.questions == {"en": ["q1?", "q2?"], "sw": ["s1?"]}
    assert entry.answers == {"en": "a.", "sw": "jibu."}


def test_flat_rows_with_two_answers_conflict(tmp_path):
    rows = [
        {"id": "agri-a", "question": "q1?", "answer": "a.", "language": "en", "domain": "agriculture", "topic": "pests"},
        {"id": "agri-a", "question": "q2?", "answer": "b.", "language": "en"},
    ]
    with pytest.raises(ImportFileError, match="two different 'en' answers") as info:
        read_entries(write_jsonl(tmp_path / "flat.jsonl", rows), LANGS, TAXONOMY)
    assert info.value.line == 2


def test_flat_csv(tmp_path):
    path = tmp_path / "flat.csv"
    path.write_text("id,question,answer,language,domain,topic\n"
                    "agri-a,q1?,a.,en,agriculture,pests\nagri-a,s1?,jibu.,sw,agriculture,pests\n")
    (entry,) = read_entries(path, LANGS, TAXONOMY)
    assert entry.answers == {"en": "a.", "sw": "jibu."}


def test_csv_error_names_the_row_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,question,answer,language,domain,topic\n"
                    "agri-a,q1?,a.,en,agriculture,pests\nagri-b,q2?,,en,agriculture,pests\n")
    with pytest.raises(ImportFileError) as info:
        read_entries(path, LANGS, TAXONOMY)
    assert (info.value.line, info.value.field) == (3, "answer")


def test_yaml_error_names_the_entry_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- id: agri-a\n  domain: agriculture\n  topic: pests\n  questions: {en: [what eats it]}\n  answers: {en: a.}\n"
                    "- id: agri-b\n  domain: agriculture\n  topic: pests\n  questions: {en: [what eats it]}\n  answers: {zz: a.}\n")
    with pytest.raises(ImportFileError) as info:
        read_entries(path, LANGS, TAXONOMY)
    assert (info.value.line, info.value.field) == (6, "answers.zz")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "yaml"])
def test_write_then_read_is_unchanged(tmp_path, tiny_file, fmt):
    entries = read_entries(tiny_file, LANGS, TAXONOMY)
    entries[0].details = {"en": "More, with a comma, \"quotes\" and a semicolon; here."}
    buffer = io.StringIO()
    write_entries(entries, fmt, buffer)
    path = tmp_path / f"out.{fmt}"
    path.write_text(buffer.getvalue())
    assert [e.to_dict() for e in read_entries(path, LANGS, TAXONOMY)] == [e.to_dict() for e in entries]


def test_bad_file_imports_nothing(kb, tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD, {**GOOD, "id": "agri-b", "answers": {"en": ""}}])
    with pytest.raises(ImportFileError):
        kb.import_files([path])
    assert kb.store.count() == 0


def test_import_twice_changes_nothing(kb, tiny_file):
    first = kb.import_files([tiny_file])
    version = kb.store.kb_version()
    second = kb.import_files([tiny_file])
    assert first["added"] == 5 and second == {"added": 0, "updated": 0, "unchanged": 5}
    assert kb.store.kb_version() == version


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "yaml"])
def test_export_then_import_reproduces_the_knowledge_base(kb, tiny_file, tmp_path, settings, embedder, fmt):
    kb.import_files([tiny_file])
    changed = kb.store.get("agri-compost")
    changed.answers["en"] = "A second version of the answer."
    kb.save(changed)
    out = tmp_path / f"export.{fmt}"
    with out.open("w", encoding="utf-8", newline="") as handle:
        write_entries(kb.store.entries(), fmt, handle)
    other = KnowledgeBase(settings.model_copy(update={"data_dir": tmp_path / "other"}), embedder=embedder)
    other.import_files([out])
    assert [e.to_dict() for e in other.store.entries()] == [e.to_dict() for e in kb.store.entries()]
    assert other.store.get("agri-compost").version == 2
