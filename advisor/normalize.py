"""Text normalization shared by the rule-based steps: lower case, no accents, plain apostrophes."""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[a-z0-9]+")
APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


def fold(text: str) -> str:
    """Lower-cased, accents removed, curly apostrophes made straight, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text.translate(APOSTROPHES).lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The words of `text`, folded; apostrophes and punctuation separate words."""
    return WORD.findall(fold(text))


def phrase_pattern(phrases: list[str]) -> re.Pattern | None:
    """One regular expression matching any of `phrases` as whole words (folded)."""
    alternatives = sorted({r"\s+".join(re.escape(w) for w in words(p)) for p in phrases if words(p)}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?![a-z0-9])")
