"""A knowledge-base entry and the checks every entry passes, wherever it comes from."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from .taxonomy import Taxonomy

ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,119}$")
STATUSES = ("draft", "published")
TRUE_WORDS = {"true", "yes", "1", "y"}
FALSE_WORDS = {"false", "no", "0", "n", ""}


class EntryProblem(ValueError):
    """One field of one entry is wrong; `field` names it."""

    def __init__(self, field: str, problem: str):
        self.field = field
        super().__init__(problem)


@dataclass
class Entry:
    """An expert entry: questions and answers per language about one topic."""

    id: str
    domain: str
    topic: str
    questions: dict[str, list[str]]
    answers: dict[str, str]
    details: dict[str, str] = field(default_factory=dict)
    urgent: bool = False
    source: str = ""
    status: str = "published"
    version: int = 1

    def content(self) -> dict:
        """The entry's content in the nested import form, without its version."""
        data = {
            "id": self.id,
            "domain": self.domain,
            "topic": self.topic,
            "questions": {lang: list(qs) for lang, qs in sorted(self.questions.items())},
            "answers": dict(sorted(self.answers.items())),
            "urgent": self.urgent,
            "source": self.source,
            "status": self.status,
        }
        if self.details:
            data["details"] = dict(sorted(self.details.items()))
        return data

    def to_dict(self) -> dict:
        """The nested form with the version: what export writes and import reads back."""
        return {**self.content(), "version": self.version}

    def content_hash(self) -> str:
        canonical = json.dumps(self.content(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def languages(self) -> list[str]:
        return sorted(set(self.answers) | set(self.questions))


def _text(value: object, field_name: str) -> str:
    if not isinstance(value, str):
        raise EntryProblem(field_name, f"must be text, got {type(value).__name__}")
    text = " ".join(value.split())
    if not text:
        raise EntryProblem(field_name, "is empty")
    return text


def _language(code: object, field_name: str, languages: list[str]) -> str:
    if not isinstance(code, str) or code.strip().lower() not in languages:
        raise EntryProblem(field_name, f"unknown language code '{code}'; configured: {', '.join(languages)}")
    return code.strip().lower()


def _bool(value: object, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, str)) and str(value).strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return str(value).strip().lower() in TRUE_WORDS
    raise EntryProblem(field_name, f"must be true or false, got '{value}'")


def _per_language(value: object, field_name: str, languages: list[str], many: bool) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EntryProblem(field_name, "must map language codes to text")
    out: dict = {}
    for code, item in value.items():
        lang = _language(code, f"{field_name}.{code}", languages)
        if many:
            items = [item] if isinstance(item, str) else item
            if not isinstance(items, list) or not items:
                raise EntryProblem(f"{field_name}.{code}", "must be a list of questions")
            out[lang] = [_text(q, f"{field_name}.{code}[{i}]") for i, q in enumerate(items)]
        else:
            out[lang] = _text(item, f"{field_name}.{code}")
    return out


def entry_from_dict(data: dict, languages: list[str], taxonomy: Taxonomy) -> Entry:
    """Check one record in the nested form and build the entry; raises EntryProblem."""
    if not isinstance(data, dict):
        raise EntryProblem("entry", "must be an object")
    for name in ("id", "domain", "topic", "questions", "answers"):
        if data.get(name) in (None, "", {}, []):
            raise EntryProblem(name, "is missing")
    entry_id = data["id"]
    if not isinstance(entry_id, str) or not ENTRY_ID.match(entry_id):
        raise EntryProblem("id", f"'{entry_id}' is not a valid id (lower-case letters, digits, '-' and '_')")
    domain = data["domain"]
    if domain not in taxonomy.domains:
        raise EntryProblem("domain", f"unknown domain '{domain}'; known: {', '.join(taxonomy.domains)}")
    topic = data["topic"]
    if topic not in taxonomy.domains[domain]:
        raise EntryProblem(
            "topic", f"unknown topic '{topic}' in {domain}; known: {', '.join(taxonomy.domains[domain])}"
        )
    status = data.get("status") or "published"
    if status not in STATUSES:
        raise EntryProblem("status", f"unknown status '{status}'; use draft or published")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        try:
            version = int(str(version))
            assert version >= 1
        except (ValueError, AssertionError):
            raise EntryProblem("version", f"must be a positive whole number, got '{version}'") from None
    source = data.get("source") or ""
    if not isinstance(source, str):
        raise EntryProblem("source", "must be text")
    questions = _per_language(data["questions"], "questions", languages, many=True)
    answers = _per_language(data["answers"], "answers", languages, many=False)
    if not answers:
        raise EntryProblem("answers", "is missing")
    return Entry(
        id=entry_id,
        domain=domain,
        topic=topic,
        questions=questions,
        answers=answers,
        details=_per_language(data.get("details"), "details", languages, many=False),
        urgent=_bool(data.get("urgent", False), "urgent"),
        source=" ".join(source.split()),
        status=status,
        version=version,
    )
