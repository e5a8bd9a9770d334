"""Measure the reply decisions on the evaluation questions, and sweep their thresholds.

For each question with known relevant entries, the engine's retrieval and decision give one of:
a correct answer, a wrong answer, a menu that holds a relevant entry, a menu that does not, or
no match. Out-of-scope messages (labelled `out_of_scope` in the labelled data) measure the other
side: how often something off-topic would be answered anyway.

The sweep scores each threshold setting by

    utility = correct answers + 0.5 * useful menus - 2 * wrong answers - 2 * off-topic answers

per question: a wrong answer costs more than asking a question back, which costs more than a
right answer. Retrieval runs once per question; only the decision is repeated per setting.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, replace

from knowledge.evaluate import Query

from .decide import ANSWER, MENU, Thresholds, decide
from .engine import SPECIAL_TOPICS, Advisor

OUTCOMES = ("correct", "wrong", "menu_hit", "menu_miss", "none")


@dataclass
class Case:
    language: str
    relevant: set[str]  # empty for an off-topic message
    narrowed: list  # hits of the topic search, or None
    whole: list  # hits of the whole-knowledge-base search
    off_topic_label: bool  # the classifier called it out_of_scope


def gather(advisor: Advisor, queries: list[Query], negatives: list[tuple[str, str]]) -> list[Case]:
    texts = [q.query for q in queries] + [text for text, _ in negatives]
    prepared = advisor.prepare(texts)
    items = [(q.query, q.language, set(q.relevant_ids)) for q in queries] + [(t, lang, set()) for t, lang in negatives]
    cases = []
    for (text, language, relevant), ready in zip(items, prepared):
        topic = ready.labels.get("topic", {}).get("label")
        whole, narrowed = advisor.retriever.search(text, language, None if topic in SPECIAL_TOPICS else topic,
                                                   ready.vector)
        cases.append(Case(language, relevant, narrowed, whole, topic == "out_of_scope"))
    return cases


def outcome(case: Case, t: Thresholds, narrowing: bool) -> str:
    decision = decide(case.whole, case.language, t, case.narrowed if narrowing else None)
    ids = [h.entry_id for h in decision.hits]
    if decision.kind == ANSWER:
        return "correct" if ids[0] in case.relevant else "wrong"
    if decision.kind == MENU:
        return "menu_hit" if case.relevant & set(ids) else "menu_miss"
    return "none"


def score(cases: list[Case], t: Thresholds, narrowing: bool) -> dict:
    """Outcome rates per language for the questions; off-topic handling for the negatives."""
    report: dict[str, dict] = {}
    positives = [c for c in cases if c.relevant]
    for language in sorted({c.language for c in positives}) + ["overall"]:
        group = [c for c in positives if language in ("overall", c.language)]
        counts = Counter(outcome(c, t, narrowing) for c in group)
        report[language] = {"n": len(group), **{k: round(counts[k] / len(group), 3) for k in OUTCOMES}}
    negatives = [c for c in cases if not c.relevant]
    if negatives:
        handled = [outcome(c, t, narrowing) for c in negatives if not c.off_topic_label]
        answered = sum(o == "wrong" for o in handled)  # nothing is relevant to an off-topic message
        menus = sum(o.startswith("menu") for o in handled)
        report["off_topic"] = {"n": len(negatives), "answered": round(answered / len(negatives), 3),
                               "menu": round(menus / len(negatives), 3),
                               "caught_by_classifier": round(sum(c.off_topic_label for c in negatives) / len(negatives), 3)}
    report["utility"] = utility(report)
    return report


def utility(report: dict) -> float:
    overall = report["overall"]
    value = overall["correct"] + 0.5 * overall["menu_hit"] - 2 * overall["wrong"]
    if "off_topic" in report:
        value -= 2 * report["off_topic"]["answered"] * report["off_topic"]["n"] / overall["n"]
    return round(value, 4)


GRID = {
    "answer_min_dense": [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 1.01],
    "menu_min_dense": [0.3, 0.45, 0.6, 0.75],
    "menu_ratio": [0.8, 0.85, 0.9, 0.95, 1.0],
}


def sweep(cases: list[Case], base: Thresholds, narrowing: bool) -> list[tuple[dict, dict]]:
    """Per language, the answer threshold and menu ratio that maximize that language's utility."""
    best = []
    for language in sorted({c.language for c in cases}):
        group = [c for c in cases if c.language == language]
        rows = []
        for dense, menu, ratio in itertools.product(*GRID.values()):
            t = replace(base, answer_min_dense={**base.answer_min_dense, language: dense},
                        menu_min_dense={**base.menu_min_dense, language: menu},
                        menu_ratio={**base.menu_ratio, language: ratio})
            rows.append(({"language": language, "answer_min_dense": dense, "menu_min_dense": menu, "menu_ratio": ratio},
                         score(group, t, narrowing)))
        rows.sort(key=lambda row: row[1]["utility"], reverse=True)
        best.extend(rows[:3])
    return best
