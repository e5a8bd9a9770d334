"""Language detection, restricted to the configured languages (lingua).

Short or ambiguous text (one word, a greeting shared by several languages) is not trusted: the
caller's fallback (the user's last language, else the deployment default) wins then.
"""

from __future__ import annotations

from dataclasses import dataclass

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from knowledge.errors import BadInputError


@dataclass(frozen=True)
class Detection:
    language: str
    confidence: float
    detected: bool  # False when the fallback was used


class LanguageDetector:
    """Tells which configured language a message is in."""

    def __init__(self, languages: list[str], min_confidence: float = 0.6, min_letters: int = 8):
        self.languages = list(languages)
        self.min_confidence = min_confidence
        self.min_letters = min_letters
        lingua_languages = []
        for code in self.languages:
            try:
                lingua_languages.append(Language.from_iso_code_639_1(IsoCode639_1.from_str(code)))
            except ValueError:
                raise BadInputError(f"language '{code}' is not supported by the language detector") from None
        if len(lingua_languages) == 1:
            self._detector = None
        else:
            self._detector = LanguageDetectorBuilder.from_languages(*lingua_languages).with_preloaded_language_models().build()

    def detect(self, text: str, fallback: str) -> Detection:
        """The message's language, or `fallback` when the text is too short or ambiguous."""
        letters = sum(ch.isalpha() for ch in text)
        if self._detector is None or letters < self.min_letters:
            return Detection(fallback, 0.0, False)
        values = self._detector.compute_language_confidence_values(text)
        if not values:
            return Detection(fallback, 0.0, False)
        best = values[0]
        code = best.language.iso_code_639_1.name.lower()
        if best.value < self.min_confidence:
            return Detection(fallback, float(best.value), False)
        return Detection(code, float(best.value), True)
