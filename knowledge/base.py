"""The knowledge base of one data folder: the store, the dense and lexical indexes, and search."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from . import lexical
from .embedder import Embedder
from .entry import Entry
from .formats import files_in, read_entries
from .index import DenseIndex
from .search import Hit, fuse, row_info
from .settings import Settings
from .store import Store
from .taxonomy import Taxonomy

log = logging.getLogger(__name__)


class KnowledgeBase:
    """Everything the rest of Ushauri asks of the knowledge base.

    The embedding model loads on first use (or is handed in, so tests and the server load it
    once); the dense index loads on first search, and is built or brought up to date then, with a
    log line saying why.
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        settings.ensure_dirs()
        self.store = Store(settings.db_path)
        self.taxonomy = Taxonomy.load(settings.taxonomy_file)
        self._embedder = embedder
        self._index: DenseIndex | None = None

    def close(self) -> None:
        self.store.close()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(self.settings.embedding_model, self.settings.models_dir, self.settings.device)
        return self._embedder

    def load(self) -> "KnowledgeBase":
        """Load the embedding model and the index now (at start-up), not on the first question."""
        self.embedder.encode(["warm up"])
        self.index
        return self

    # Index ------------------------------------------------------------------------------
    @property
    def index(self) -> DenseIndex:
        """The dense index, loaded once, rebuilt or synced first when it does not match the store."""
        if self._index is None:
            self._index = self._open_index()
        return self._index

    def _open_index(self) -> DenseIndex:
        model_id = self.settings.embedding_model
        found = DenseIndex.read(self.settings.index_dir)
        problem = ("there is no index yet", True) if found is None else found.mismatch(model_id, self.store.kb_version())
        if problem is None:
            return found
        reason, rebuild = problem
        if rebuild:
            log.info("building the dense index: %s", reason)
            found = DenseIndex.empty(self.settings.index_dir, model_id, self.embedder.dim)
        else:
            log.info("updating the dense index: %s", reason)
        found.sync(self.store, self.embedder)
        return found

    def reindex(self, full: bool = False) -> dict[str, int]:
        """Bring the index up to date (only new and removed rows), or rebuild it with full=True."""
        if full:
            self._index = DenseIndex.empty(self.settings.index_dir, self.settings.embedding_model, self.embedder.dim)
            return self._index.sync(self.store, self.embedder)
        index = self.index  # opening syncs when the store moved on
        return index.sync(self.store, self.embedder)

    def _after_change(self) -> None:
        """Keep an existing index in step with the store after a change (new rows only)."""
        if self._index is not None:
            self._index.sync(self.store, self.embedder)
        elif DenseIndex.exists(self.settings.index_dir):
            self.index  # opening a saved index syncs it with the store

    # Changes ----------------------------------------------------------------------------
    def read_files(self, paths: Iterable[Path]) -> list[Entry]:
        """Every entry of the files (folders expanded), all checked before any is returned."""
        entries: dict[str, Entry] = {}
        for path in files_in(paths):
            for entry in read_entries(path, self.settings.languages, self.taxonomy):
                entries[entry.id] = entry
        return list(entries.values())

    def import_files(self, paths: Iterable[Path]) -> dict[str, int]:
        """Import files (all or nothing); returns counts of added, updated and unchanged entries."""
        counts = self.store.upsert_many(self.read_files(paths))
        if counts["added"] or counts["updated"]:
            self._after_change()
        return counts

    def save(self, entry: Entry) -> str:
        """Add or update one entry; returns 'added', 'updated' or 'unchanged'."""
        action = self.store.upsert(entry)
        if action != "unchanged":
            self._after_change()
        return action

    def set_status(self, entry_id: str, status: str) -> str:
        action = self.store.set_status(entry_id, status)
        if action != "unchanged":
            self._after_change()
        return action

    def delete(self, entry_id: str) -> Entry:
        entry = self.store.delete(entry_id)
        self._after_change()
        return entry

    # Search -----------------------------------------------------------------------------
    def dense_search(self, query: str, k: int, allowed: list[int] | None = None,
                     vector: np.ndarray | None = None) -> list[tuple[int, float]]:
        if vector is None:
            vector = self.embedder.encode([query])[0]
        return self.index.search(vector, k, allowed)

    def lexical_search(self, query: str, k: int, allowed: list[int] | None = None) -> list[tuple[int, float]]:
        return lexical.search(self.store, query, k, allowed)

    def search(
        self,
        query: str,
        language: str | None = None,
        domain: str | None = None,
        topic: str | None = None,
        k: int = 5,
        mode: str = "hybrid",
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The best entries for a query: `mode` is hybrid (default), dense or lexical.

        `vector` is the query's embedding when the caller has it already (batches, a second
        search for the same message)."""
        allowed = self.store.row_ids(domain=domain, topic=topic) if (domain or topic) else None
        n = self.settings.search_candidates
        dense_rows = self.dense_search(query, n, allowed, vector) if mode in ("hybrid", "dense") else []
        lexical_rows = self.lexical_search(query, n, allowed) if mode in ("hybrid", "lexical") else []
        info = row_info(self.store, {row_id for row_id, _ in dense_rows + lexical_rows})
        dense_weight, lexical_weight = self.settings.fusion_weights(language)
        hits = fuse(
            dense_rows, lexical_rows, info, language=language, rrf_k=self.settings.rrf_k,
            dense_weight=dense_weight, lexical_weight=lexical_weight,
        )
        return hits[:k]
