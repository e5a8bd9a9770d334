"""The dense index: FAISS inner-product search over question and answer rows, kept in step with the store.

The index maps FAISS ids to text row ids of the store. It is saved beside a metadata file
(model id, dimension, row count, knowledge-base version, build parameters). `sync` brings it up
to date by removing the rows that left the store and embedding only the rows that are new
(through the embedding cache), so one edit never costs a full rebuild.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from .embedder import Embedder
from .store import Store, TextRow

log = logging.getLogger(__name__)

INDEX_FILE = "dense.faiss"
META_FILE = "dense.json"
PROGRESS_FROM = 300  # show a progress bar when embedding at least this many texts


@dataclass
class IndexMeta:
    model_id: str
    dim: int
    rows: int
    kb_version: int
    index_type: str = "IDMap2,Flat,IP"
    built_at: float = 0.0


def embed_rows(store: Store, embedder: Embedder, rows: list[TextRow], progress: bool | None = None) -> np.ndarray:
    """Vectors for rows, from the cache where it has them; new vectors are cached."""
    hashes = [row.text_hash for row in rows]
    cached = store.cached_vectors(embedder.model_id, sorted(set(hashes)))
    missing = {row.text_hash: row.text for row in rows if row.text_hash not in cached}
    if missing:
        show = len(missing) >= PROGRESS_FROM if progress is None else progress
        fresh = embedder.encode(list(missing.values()), progress=show)
        new = dict(zip(missing.keys(), fresh))
        store.cache_vectors(embedder.model_id, new)
        cached.update(new)
    if not rows:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.stack([cached[h] for h in hashes]).astype(np.float32)


class DenseIndex:
    """A FAISS index over the store's searchable rows, with its metadata."""

    def __init__(self, folder: Path, index: faiss.Index, meta: IndexMeta):
        self.folder = Path(folder)
        self.index = index
        self.meta = meta

    # Life cycle ---------------------------------------------------------------------------
    @classmethod
    def empty(cls, folder: Path, model_id: str, dim: int) -> "DenseIndex":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        return cls(folder, index, IndexMeta(model_id=model_id, dim=dim, rows=0, kb_version=-1))

    @staticmethod
    def exists(folder: Path) -> bool:
        return (Path(folder) / META_FILE).exists()

    @classmethod
    def read(cls, folder: Path) -> "DenseIndex | None":
        """The saved index, or None when there is none or it cannot be read."""
        folder = Path(folder)
        try:
            meta = IndexMeta(**json.loads((folder / META_FILE).read_text()))
            index = faiss.read_index(str(folder / INDEX_FILE))
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged file: rebuilt by the caller
            log.warning("index in %s cannot be read (%s)", folder, exc)
            return None
        return cls(folder, index, meta)

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.meta.rows = int(self.index.ntotal)
        tmp_index = self.folder / (INDEX_FILE + ".tmp")
        tmp_meta = self.folder / (META_FILE + ".tmp")
        faiss.write_index(self.index, str(tmp_index))
        tmp_meta.write_text(json.dumps(asdict(self.meta), indent=2))
        os.replace(tmp_index, self.folder / INDEX_FILE)
        os.replace(tmp_meta, self.folder / META_FILE)

    def mismatch(self, model_id: str, kb_version: int) -> tuple[str, bool] | None:
        """Why this index cannot serve the store as it is, and whether only a full rebuild
        mends it (else a sync does); None when it can serve."""
        if self.meta.model_id != model_id:
            return f"it was built with model '{self.meta.model_id}', the settings name '{model_id}'", True
        if self.meta.dim != self.index.d:
            return f"its metadata says dimension {self.meta.dim}, the index has {self.index.d}", True
        if self.meta.rows != self.index.ntotal:
            return f"its metadata says {self.meta.rows} rows, the index holds {self.index.ntotal}", True
        if self.meta.kb_version != kb_version:
            return f"the knowledge base is at version {kb_version}, the index at {self.meta.kb_version}", False
        return None

    def ids(self) -> set[int]:
        if self.index.ntotal == 0:
            return set()
        return set(faiss.vector_to_array(self.index.id_map).tolist())

    def sync(self, store: Store, embedder: Embedder, progress: bool | None = None) -> dict[str, int]:
        """Remove rows that left the store, add rows that are new; save. Returns the counts."""
        version = store.kb_version()
        rows = store.searchable_rows()
        wanted = {row.id: row for row in rows}
        have = self.ids()
        gone = sorted(have - wanted.keys())
        new = [wanted[i] for i in sorted(wanted.keys() - have)]
        if gone:
            self.index.remove_ids(np.asarray(gone, dtype=np.int64))
        if new:
            vectors = embed_rows(store, embedder, new, progress)
            self.index.add_with_ids(vectors, np.asarray([row.id for row in new], dtype=np.int64))
        self.meta.kb_version = version
        self.meta.built_at = time.time()
        self.save()
        return {"added": len(new), "removed": len(gone), "rows": int(self.index.ntotal)}

    # Search -------------------------------------------------------------------------------
    def search(self, vector: np.ndarray, k: int, allowed: list[int] | None = None) -> list[tuple[int, float]]:
        """(row id, cosine) pairs, best first; `allowed` limits the search to those row ids."""
        if self.index.ntotal == 0 or k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        params = None
        if allowed is not None:
            if not allowed:
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
        scores, ids = self.index.search(query, min(k, self.index.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]
