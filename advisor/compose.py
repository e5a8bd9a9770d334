"""Composition: the blocks of a reply, from knowledge-base entries and the message catalogs only.

No sentence is written in code. An entry's answer comes in the person's language; when the entry
has none, in the deployment's default language with a one-line localized note. Health answers
carry a short localized disclaimer. Menus list each entry by its first question.
"""

from __future__ import annotations

from knowledge.entry import Entry

from .catalog import Catalog
from .channels import Block

HEALTH = "health"


class Composer:
    def __init__(self, catalog: Catalog, default_language: str, hotline: str):
        self.catalog = catalog
        self.default_language = default_language
        self.hotline = hotline

    def say(self, key: str, language: str, kind: str = "catalog", **values: object) -> Block:
        text = self.catalog.get(key, language)
        return Block(text.format(**values) if values else text, kind)

    def emergency(self, language: str) -> Block:
        return self.say("emergency", language, "emergency", hotline=self.hotline)

    def pick_language(self, available: dict[str, object], language: str) -> str:
        if language in available:
            return language
        if self.default_language in available:
            return self.default_language
        return next(iter(sorted(available)))

    def answer(self, entry: Entry, language: str) -> list[Block]:
        """The entry's answer (with the language note when it is not in `language`), then the disclaimer."""
        used = self.pick_language(entry.answers, language)
        blocks = [Block(entry.answers[used], "answer")]
        if used != language:
            blocks.append(self.say("language_note", language, "note"))
        if entry.domain == HEALTH:
            blocks.append(self.say("health_disclaimer", language, "disclaimer"))
        return blocks

    def title(self, entry: Entry, language: str) -> str:
        return entry.questions[self.pick_language(entry.questions, language)][0]

    def menu(self, entries: list[Entry], language: str) -> list[Block]:
        lines = [self.say("menu_intro", language).text]
        lines += [self.say("menu_item", language, number=n, title=self.title(entry, language)).text
                  for n, entry in enumerate(entries, start=1)]
        return [Block("\n".join(lines), "menu")]
