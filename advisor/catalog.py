"""Message catalogs: every fixed sentence Ushauri sends, one YAML file per language."""

from __future__ import annotations

from pathlib import Path

import yaml

CATALOG_DIR = Path(__file__).parent / "catalogs"


class Catalog:
    """Looks up a fixed sentence by key in a language, falling back to the default language."""

    def __init__(self, folder: Path = CATALOG_DIR, default_language: str = "en"):
        self.default_language = default_language
        self.messages: dict[str, dict[str, str]] = {
            path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) or {} for path in sorted(folder.glob("*.yaml"))
        }
        if default_language not in self.messages:
            raise ValueError(f"no catalog for the default language '{default_language}' in {folder}")

    def get(self, key: str, language: str) -> str:
        for lang in (language, self.default_language):
            text = self.messages.get(lang, {}).get(key)
            if text:
                return text
        raise KeyError(f"catalog key '{key}' is missing in '{self.default_language}'")
