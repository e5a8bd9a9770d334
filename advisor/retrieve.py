"""Retrieval for the engine: a search narrowed to the classifier's topic and one over the whole
knowledge base (the query is embedded once for both). The decision (decide.py) answers only
when the topic search confirms the whole search's best entry; when the topic is `unknown` or its
results are weak, the whole knowledge base's results stand."""

from __future__ import annotations

import numpy as np

from knowledge.base import KnowledgeBase
from knowledge.search import Hit

CANDIDATES = 5


class Retriever:
    def __init__(self, kb: KnowledgeBase, narrowing: bool = True, mode: str = "hybrid"):
        self.kb, self.narrowing, self.mode = kb, narrowing, mode

    def search(self, query: str, language: str, topic: str | None,
               vector: np.ndarray | None = None) -> tuple[list[Hit], list[Hit] | None]:
        """The whole knowledge base's best entries, and the topic's (None when there is no topic)."""
        if vector is None and self.mode != "lexical":
            vector = self.kb.embedder.encode([query])[0]
        narrowed = None
        if self.narrowing and topic:
            narrowed = self.kb.search(query, language=language, topic=topic, k=CANDIDATES, mode=self.mode, vector=vector)
        return self.kb.search(query, language=language, k=CANDIDATES, mode=self.mode, vector=vector), narrowed
