"""The decision after retrieval: answer one entry, offer a short numbered menu, or admit not knowing.

A hit is *strong* when both retrievers rank it first, or when its dense cosine reaches the
language's `answer_min_dense`; *plausible* when it is strong, reaches `menu_min_dense`, or is in
BM25's top three. The top hit of the whole knowledge base answers when it is strong, the search
narrowed to the classifier's topic finds the same entry first, and no plausible runner-up comes
within `menu_ratio` of its fused score. Otherwise a plausible top hit gives a menu of up to
`menu_size` entries; with nothing plausible, nothing is confident. Measured on the starter
evaluation questions, the topic confirmation cuts wrong answers from 15% to about 3%. Per-language cosine thresholds
exist because the default English embedding model gives unrelated Swahili and French texts high
cosines. The defaults were chosen with `ushauri eval replies --sweep` (README, "Reply decisions").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.search import Hit
from knowledge.settings import Settings

ANSWER, MENU, NONE = "answer", "menu", "none"


@dataclass(frozen=True)
class Thresholds:
    answer_min_dense: dict[str, float] = field(default_factory=dict)
    answer_min_dense_default: float = 0.8
    menu_min_dense: dict[str, float] = field(default_factory=dict)
    menu_min_dense_default: float = 0.45
    menu_ratio: dict[str, float] = field(default_factory=dict)
    menu_ratio_default: float = 0.9
    menu_size: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> "Thresholds":
        return cls(
            answer_min_dense=settings.answer_min_dense, answer_min_dense_default=settings.answer_min_dense_default,
            menu_min_dense=settings.menu_min_dense, menu_min_dense_default=settings.menu_min_dense_default,
            menu_ratio=settings.menu_ratio, menu_ratio_default=settings.menu_ratio_default, menu_size=settings.menu_size,
        )


@dataclass
class Decision:
    kind: str  # answer, menu or none
    hits: list[Hit]  # the entry answered, or the menu's entries in order; empty for none


def strong(hit: Hit, language: str, t: Thresholds) -> bool:
    agree = hit.dense_rank == 1 and hit.lexical_rank == 1
    return agree or (hit.dense is not None and hit.dense >= t.answer_min_dense.get(language, t.answer_min_dense_default))


def plausible(hit: Hit, language: str, t: Thresholds) -> bool:
    if strong(hit, language, t):
        return True
    if hit.dense is not None and hit.dense >= t.menu_min_dense.get(language, t.menu_min_dense_default):
        return True
    return hit.lexical_rank is not None and hit.lexical_rank <= 3


def decide(hits: list[Hit], language: str, t: Thresholds, narrowed: list[Hit] | None = None) -> Decision:
    """`hits` from the whole knowledge base; `narrowed` from the classifier's topic (None: no topic).

    An answer needs a strong top hit that the topic search confirms (its top hit is the same
    entry) and no close runner-up. A topic search that disagrees is weak: the whole knowledge
    base's results then make a menu, with the topic's best entry offered too."""
    if not hits or not plausible(hits[0], language, t):
        return Decision(NONE, [])
    top = hits[0]
    confirmed = narrowed is None or (bool(narrowed) and narrowed[0].entry_id == top.entry_id)
    ratio = t.menu_ratio.get(language, t.menu_ratio_default)
    close = [h for h in hits[1:t.menu_size] if h.score >= ratio * top.score and plausible(h, language, t)]
    if strong(top, language, t) and confirmed and not close:
        return Decision(ANSWER, [top])
    menu = [top, *(h for h in hits[1:t.menu_size] if plausible(h, language, t))]
    if narrowed and narrowed[0].entry_id not in {h.entry_id for h in menu} and plausible(narrowed[0], language, t):
        menu = [*menu[:t.menu_size - 1], narrowed[0]]
    return Decision(MENU, menu)
