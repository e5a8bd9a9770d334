
import pytest

from knowledge.entry import Entry
from knowledge.errors import NotFoundError
from knowledge.store import Store


def make_entry(**changes) -> Entry:
    data = dict(
        id="agri-x", domain="agriculture", topic="pests",
        questions={"en": ["What eats my beans?"], "sw": ["Nini kinakula maharage yangu?"]},
        answers={"en": "Aphids, most likely.", "sw": "Vidukari, huenda."}, source="CABI",
    )
    data.update(changes)
    return Entry(**data)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "kb.db")
    yield s
    s.close()


def test_round_trip_keeps_every_field(store):
    entry = make_entry(details={"en": "Longer text."}, urgent=True, status="draft")
    assert store.upsert(entry) == "added"
    back = store.get("agri-x")
    assert back.content() == entry.content()
    assert back.version == 1


def test_wal_mode(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_content_is_unchanged_and_a_change_is_a_new_version(store):
    store.upsert(make_entry())
    assert store.upsert(make_entry()) == "unchanged"
    assert store.get("agri-x").version == 1
    assert store.upsert(make_entry(answers={"en": "Aphids or bean flies.", "sw": "Vidukari."})) == "updated"
    assert store.get("agri-x").version == 2


def test_history_keeps_every_previous_text(store):
    store.upsert(make_entry())
    store.upsert(make_entry(answers={"en": "Second text.", "sw": "Maandishi ya pili."}))
    store.delete("agri-x")
    history = store.history("agri-x")
    assert [(h["version"], h["action"]) for h in history] == [(1, "added"), (2, "updated"), (2, "deleted")]
    assert history[0]["data"]["answers"]["en"] == "Aphids, most likely."
    assert history[1]["data"]["answers"]["en"] == "Second text."
    with pytest.raises(NotFoundError):
        store.get("agri-x")


def test_readding_a_deleted_id_continues_its_versions(store):
    store.upsert(make_entry())
    store.delete("agri-x")
    store.upsert(make_entry())
    assert store.get("agri-x").version == 2


def test_kb_version_moves_on_every_change_only(store):
    v0 = store.kb_version()
    store.upsert(make_entry())
    v1 = store.kb_version()
    store.upsert(make_entry())
    assert store.kb_version() == v1 > v0


def test_text_rows_are_replaced_not_edited(store):
    store.upsert(make_entry())
    before = {row.id for row in store.searchable_rows()}
    store.upsert(make_entry(answers={"en": "New.", "sw": "Mpya."}))
    after = {row.id for row in store.searchable_rows()}
    assert before.isdisjoint(after)


def test_drafts_are_not_searchable(store):
    store.upsert(make_entry(status="draft"))
    assert store.searchable_rows() == []
    store.set_status("agri-x", "published")
    assert {row.kind for row in store.searchable_rows()} == {"question", "answer"}


def test_unknown_history_is_not_found(store):
    with pytest.raises(NotFoundError, match="no entry with id 'nope'"):
        store.history("nope")


def test_embedding_cache_round_trip(store):
    import numpy as np

    vec = np.arange(4, dtype=np.float32)
    store.cache_vectors("m", {"h1": vec})
    assert np.array_equal(store.cached_vectors("m", ["h1", "h2"])["h1"], vec)
    assert store.cached_vectors("other-model", ["h1"]) == {}
