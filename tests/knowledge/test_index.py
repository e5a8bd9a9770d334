import json
import logging

from knowledge.base import KnowledgeBase
from knowledge.entry import Entry
from knowledge.index import META_FILE


def entry_ids(hits):
    return [h.entry_id for h in hits]


def new_entry(**changes):
    data = dict(
        id="agri-tomato-leafminer", domain="agriculture", topic="pests",
        questions={"en": ["Tiny larvae make tunnels inside my tomato leaves"]},
        answers={"en": "This is the tomato leafminer. Remove and destroy mined leaves, use pheromone traps."},
        source="CABI",
    )
    data.update(changes)
    return Entry(**data)


class CountingEmbedder:
    """The real embedder, counting how many texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dim, self.texts = inner, inner.model_id, inner.dim, 0

    def encode(self, texts, **kwargs):
        self.texts += len(texts)
        return self.inner.encode(texts, **kwargs)


def test_index_holds_every_searchable_row(tiny_kb):
    assert tiny_kb.index.index.ntotal == len(tiny_kb.store.searchable_rows())
    meta = json.loads((tiny_kb.settings.index_dir / META_FILE).read_text())
    assert meta["model_id"] == tiny_kb.settings.embedding_model
    assert meta["dim"] == 384 and meta["kb_version"] == tiny_kb.store.kb_version()


def test_add_edit_delete_update_the_index_without_a_rebuild(settings, embedder, tiny_file):
    counting = CountingEmbedder(embedder)
    kb = KnowledgeBase(settings, embedder=counting)
    kb.import_files([tiny_file])
    kb.reindex()
    rows_before = kb.index.index.ntotal
    counting.texts = 0

    kb.save(new_entry())
    assert counting.texts == 2  # only the new question and answer were embedded
    assert entry_ids(kb.search("tunnels in tomato leaves", mode="dense"))[0] == "agri-tomato-leafminer"
    assert kb.index.index.ntotal == rows_before + 2

    counting.texts = 0
    kb.save(new_entry(answers={"en": "Pick off leaves with serpentine mines and hang sticky traps."}))
    assert counting.texts == 1  # the edited answer; the unchanged question comes from the cache
    hits = kb.search("serpentine mines sticky traps", k=1)
    assert hits[0].entry_id == "agri-tomato-leafminer" and "serpentine" in hits[0].text
    assert "destroy mined leaves" not in {h.text for h in kb.search("destroy mined leaves pheromone", k=10)}

    counting.texts = 0
    kb.delete("agri-tomato-leafminer")
    assert counting.texts == 0
    for mode in ("dense", "lexical", "hybrid"):
        assert "agri-tomato-leafminer" not in entry_ids(kb.search("tomato leaf tunnels larvae", k=10, mode=mode))
    assert kb.index.index.ntotal == rows_before


def test_index_on_disk_follows_changes_made_by_another_process(settings, embedder, tiny_file, caplog):
    first = KnowledgeBase(settings, embedder=embedder)
    first.import_files([tiny_file])
    first.reindex()
    other = KnowledgeBase(settings, embedder=embedder)  # e.g. `ushauri kb add` while the server runs
    other.store.upsert(new_entry())
    with caplog.at_level(logging.INFO, logger="knowledge"):
        reopened = KnowledgeBase(settings, embedder=embedder)
        hits = reopened.search("tunnels inside tomato leaves", k=1)
    assert hits[0].entry_id == "agri-tomato-leafminer"
    assert "updating the dense index: the knowledge base is at version" in caplog.text


def test_model_mismatch_rebuilds_with_a_reason(settings, embedder, tiny_file, caplog):
    kb = KnowledgeBase(settings, embedder=embedder)
    kb.import_files([tiny_file])
    kb.reindex()
    meta_path = settings.index_dir / META_FILE
    meta = json.loads(meta_path.read_text())
    meta["model_id"] = "some-other-model"
    meta_path.write_text(json.dumps(meta))
    with caplog.at_level(logging.INFO, logger="knowledge"):
        reopened = KnowledgeBase(settings, embedder=embedder)
        assert reopened.index.index.ntotal == len(reopened.store.searchable_rows())
    assert "building the dense index: it was built with model 'some-other-model'" in caplog.text
    assert json.loads(meta_path.read_text())["model_id"] == settings.embedding_model


def test_damaged_index_file_is_rebuilt(settings, embedder, tiny_file, caplog):
    kb = KnowledgeBase(settings, embedder=embedder)
    kb.import_files([tiny_file])
    kb.reindex()
    (settings.index_dir / "dense.faiss").write_bytes(b"not an index")
    with caplog.at_level(logging.INFO, logger="knowledge"):
        reopened = KnowledgeBase(settings, embedder=embedder)
        assert reopened.search("compost heap", k=1)[0].entry_id == "agri-compost"
    assert "building the dense index" in caplog.text


def test_full_rebuild_uses_the_embedding_cache(settings, embedder, tiny_file):
    counting = CountingEmbedder(embedder)
    kb = KnowledgeBase(settings, embedder=counting)
    kb.import_files([tiny_file])
    kb.reindex()
    counting.texts = 0
    counts = kb.reindex(full=True)
    assert counting.texts == 0 and counts["added"] == counts["rows"] > 0


def test_two_data_folders_are_separate(settings, embedder, tiny_file, tmp_path):
    a = KnowledgeBase(settings, embedder=embedder)
    b = KnowledgeBase(settings.model_copy(update={"data_dir": tmp_path / "b"}), embedder=embedder)
    a.import_files([tiny_file])
    assert a.store.count() == 5 and b.store.count() == 0
    assert b.search("compost") == []
