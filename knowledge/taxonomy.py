"""The topic taxonomy: domains, their topics, localized names for menus, and special labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import BadInputError


@dataclass(frozen=True)
class Taxonomy:
    """Domains with their topics, and the special (non knowledge-base) classifier labels."""

    domains: dict[str, dict[str, dict[str, str]]]  # domain -> topic -> language -> name
    domain_names: dict[str, dict[str, str]]
    special: dict[str, dict[str, str]]

    @classmethod
    def load(cls, path: Path) -> "Taxonomy":
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise BadInputError(f"{path}: cannot read the taxonomy: {exc}") from None
        try:
            domains = {name: dict(d["topics"]) for name, d in data["domains"].items()}
            names = {name: dict(d.get("names", {})) for name, d in data["domains"].items()}
            special = dict(data.get("special", {}))
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadInputError(f"{path}: taxonomy needs domains.<name>.topics ({exc})") from None
        return cls(domains=domains, domain_names=names, special=special)

    @property
    def topics(self) -> list[str]:
        """Every knowledge-base topic id, in file order."""
        return [topic for topics in self.domains.values() for topic in topics]

    @property
    def labels(self) -> list[str]:
        """Every classifier topic label: the topics, then the special labels."""
        return self.topics + list(self.special)

    def domain_of(self, topic: str) -> str | None:
        for domain, topics in self.domains.items():
            if topic in topics:
                return domain
        return None

    def name(self, label: str, language: str, fallback: str = "en") -> str:
        """The localized menu name of a topic or special label."""
        for topics in (*self.domains.values(), self.special):
            if label in topics:
                names = topics[label] or {}
                return names.get(language) or names.get(fallback) or label
        return label
