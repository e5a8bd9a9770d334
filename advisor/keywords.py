"""Command words and short social messages (rules/keywords.yaml): language switches, MORE, menu
numbers, greetings and thanks, and follow-up openers such as "and for...". Every language's words
work in every channel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import BadInputError

from .normalize import phrase_pattern, words
from .safety import RULES_DIR, read_yaml

KEYWORDS = RULES_DIR / "keywords.yaml"
MENU_NUMBER = re.compile(r"^\s*#?\s*(\d{1,2})\s*[.)]?\s*$")
FOLLOWUP_MAX_WORDS = 6


@dataclass(frozen=True)
class LanguageSwitch:
    language: str | None  # None: the person asked for the list of languages


class Keywords:
    def __init__(self, languages: list[str], path: Path = KEYWORDS):
        data = read_yaml(path)
        switch = data.get("language_switch") or {}
        self.switch_words = set(words(" ".join(switch.get("keywords") or [])))
        self.language_names: dict[str, str] = {}
        for code, names in (switch.get("names") or {}).items():
            if code in languages:
                for name in names or []:
                    self.language_names[" ".join(words(str(name)))] = code
        for code in languages:
            self.language_names.setdefault(code, code)
        self.more_words = set(words(" ".join(data.get("more") or [])))
        self.filler = set(words(" ".join(data.get("filler") or [])))
        self.social: dict[str, set[str]] = {}
        for intent in ("greeting", "thanks"):
            phrases = [p for values in (data.get(intent) or {}).values() for p in values or []]
            self.social[intent] = {" ".join(words(p)) for p in phrases if words(p)}
        followups = [p for values in (data.get("followup") or {}).values() for p in values or []]
        self.followup_pattern = phrase_pattern(followups)
        self.sms_words = {name: set(words(" ".join(data.get(f"sms_{name}") or []))) for name in ("stop", "start", "help")}
        if not self.more_words:
            raise BadInputError(f"{path}: 'more' needs at least one word")

    def language_switch(self, text: str) -> LanguageSwitch | None:
        """LANG SW, LUGHA, LANGUE FR, or a language name on its own; None for any other message."""
        tokens = [t for t in words(text) if t not in self.filler]
        if not tokens or len(tokens) > 3:
            return None
        if tokens[0] in self.switch_words:
            rest = " ".join(tokens[1:])
            if not rest:
                return LanguageSwitch(None)
            return LanguageSwitch(self.language_names[rest]) if rest in self.language_names else None
        whole = " ".join(tokens)
        return LanguageSwitch(self.language_names[whole]) if whole in self.language_names and len(tokens) <= 2 else None

    def sms_command(self, text: str) -> str | None:
        """'stop', 'start' or 'help' when the whole message is one of those words."""
        tokens = words(text)
        if len(tokens) != 1:
            return None
        return next((name for name, known in self.sms_words.items() if tokens[0] in known), None)

    def is_more(self, text: str) -> bool:
        tokens = words(text)
        return len(tokens) == 1 and tokens[0] in self.more_words

    @staticmethod
    def menu_choice(text: str) -> int | None:
        found = MENU_NUMBER.match(text)
        return int(found.group(1)) if found else None

    def social_intent(self, text: str) -> str | None:
        """'greeting' or 'thanks' when the message is nothing else (filler words allowed)."""
        tokens = [t for t in words(text) if t not in self.filler]
        if not tokens or len(tokens) > 6:
            return None
        for intent, phrases in self.social.items():
            if covered(tokens, phrases):
                return intent
        return None

    def is_followup(self, text: str) -> bool:
        tokens = words(text)
        if not tokens or len(tokens) > FOLLOWUP_MAX_WORDS or self.followup_pattern is None:
            return False
        found = self.followup_pattern.match(" ".join(tokens))
        return bool(found) and found.end() < len(" ".join(tokens))


def covered(tokens: list[str], phrases: set[str]) -> bool:
    """True when `tokens` split into a sequence of `phrases` (longest first)."""
    if not tokens:
        return True
    for size in range(min(len(tokens), 5), 0, -1):
        if " ".join(tokens[:size]) in phrases and covered(tokens[size:], phrases):
            return True
    return False



