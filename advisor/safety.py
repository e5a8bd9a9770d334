"""Safety steps: emergency rules, blocked advice, personal data, abusive and nonsense input.

Each check is small and returns what it found, so the engine can record why it acted. The
word lists are data files in advisor/rules/ that operators extend; paths are settings.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.errors import BadInputError

from .normalize import fold, phrase_pattern, words

RULES_DIR = Path(__file__).parent / "rules"
EMERGENCY_RULES = RULES_DIR / "emergency.yaml"
BLOCKED_TERMS = RULES_DIR / "blocked.yaml"
ABUSE_WORDS = RULES_DIR / "abuse.yaml"


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read the rules file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise BadInputError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a mapping at the top level")
    return data


class EmergencyRules:
    """Regular expressions per language for danger signs; every language's rules run on every message."""

    def __init__(self, path: Path = EMERGENCY_RULES):
        self.path = Path(path)
        self.rules: list[tuple[str, re.Pattern]] = []
        for language, patterns in read_yaml(self.path).items():
            for pattern in patterns or []:
                try:
                    self.rules.append((language, re.compile(pattern)))
                except re.error as exc:
                    raise BadInputError(f"{self.path}: rule '{pattern}' ({language}) is not a valid pattern: {exc}") from None

    def match(self, text: str) -> str | None:
        """The first rule that matches, as 'language:pattern', or None."""
        folded = fold(text)
        for language, rule in self.rules:
            if rule.search(folded):
                return f"{language}:{rule.pattern}"
        return None


@dataclass(frozen=True)
class BlockedHit:
    list_name: str
    referral: str  # catalog key of the sentence sent instead
    term: str


class BlockedTerms:
    """Named lists of terms that must never appear in an outgoing reply."""

    def __init__(self, path: Path = BLOCKED_TERMS):
        self.path = Path(path)
        self.lists: list[tuple[str, str, re.Pattern]] = []
        for name, spec in (read_yaml(self.path).get("lists") or {}).items():
            if not isinstance(spec, dict) or not spec.get("terms") or not spec.get("referral"):
                raise BadInputError(f"{self.path}: list '{name}' needs 'referral' (a catalog key) and 'terms'")
            pattern = phrase_pattern([str(term) for term in spec["terms"]])
            if pattern is not None:
                self.lists.append((name, spec["referral"], pattern))

    @property
    def referral_keys(self) -> set[str]:
        return {referral for _, referral, _ in self.lists}

    def find(self, text: str) -> BlockedHit | None:
        plain = " ".join(words(text))
        for name, referral, pattern in self.lists:
            found = pattern.search(plain)
            if found:
                return BlockedHit(name, referral, found.group(0))
        return None


class AbuseWords:
    """Insults and obscenities in any configured language."""

    def __init__(self, path: Path = ABUSE_WORDS):
        data = read_yaml(path)
        self.pattern = phrase_pattern([str(w) for values in data.values() for w in values or []])

    def found(self, text: str) -> bool:
        return bool(self.pattern and self.pattern.search(" ".join(words(text))))


# Personal data ------------------------------------------------------------------------------
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w+])\+?\d[\d ()-]{7,}\d(?!\w)")
ID_NUMBER = re.compile(r"(?<!\w)(?=[A-Z]{0,3}\d)[A-Z]{0,3}\d{6,}(?!\w)", re.IGNORECASE)


def mask_pii(text: str) -> str:
    """Phone numbers, e-mail addresses and ID-like numbers replaced by placeholders."""
    text = EMAIL.sub("[email]", text)
    text = PHONE.sub(lambda m: "[phone]" if sum(ch.isdigit() for ch in m.group(0)) >= 9 else m.group(0), text)
    return ID_NUMBER.sub("[id]", text)


class PiiFilter(logging.Filter):
    """A logging filter that masks personal data in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg, record.args = mask_pii(message), ()
        return True


# Nonsense -----------------------------------------------------------------------------------
CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{6,}")
REPEATS = re.compile(r"(.)\1{4,}")


def looks_like_nonsense(text: str) -> bool:
    """No letters at all, or mostly words no language writes (keyboard mashing, long repeats)."""
    tokens = [w for w in words(text) if not w.isdigit()]
    if not tokens:
        return True
    odd = [w for w in tokens if CONSONANT_RUN.search(w) or REPEATS.search(w) or (len(w) > 25)]
    return len(odd) * 2 >= len(tokens)
