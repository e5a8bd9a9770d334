from knowledge.lexical import WORD, fts_query, query_terms
from knowledge.search import RowInfo, fuse


def words_of(kb, entry_id):
    entry = kb.store.get(entry_id)
    texts = [q for qs in entry.questions.values() for q in qs] + list(entry.answers.values())
    return {w.lower() for t in texts for w in WORD.findall(t)}


def test_dense_finds_a_paraphrase_that_shares_no_word(tiny_kb):
    query = "Larvae chewing through corn"
    assert not set(query_terms(query)) & words_of(tiny_kb, "maize-fall-armyworm")
    hit = tiny_kb.search(query, language="en", k=1)[0]
    assert hit.entry_id == "maize-fall-armyworm"
    assert hit.dense is not None and hit.lexical is None


def test_lexical_finds_a_rare_term_the_model_does_not_know(tiny_kb):
    # Swahili words that the English embedding model places near the wrong entry.
    for query, wanted in (("majivu", "agri-compost"), ("kunyunyiza", "maize-fall-armyworm")):
        dense_only = [h.entry_id for h in tiny_kb.search(query, mode="dense", k=5)]
        assert dense_only[0] != wanted
        hit = tiny_kb.search(query, k=1)[0]
        assert hit.entry_id == wanted and hit.lexical_rank == 1


def test_search_prefers_the_query_language(tiny_kb):
    hit = tiny_kb.search("chandarua malaria", language="sw", k=1)[0]
    assert hit.entry_id == "health-bednets" and hit.language == "sw"
    hit = tiny_kb.search("net against malaria", language="en", k=1)[0]
    assert hit.entry_id == "health-bednets" and hit.language == "en"


def test_search_limited_to_a_domain_or_topic(tiny_kb):
    hits = tiny_kb.search("my child is sick", domain="agriculture", k=10)
    assert hits and {tiny_kb.store.get(h.entry_id).domain for h in hits} == {"agriculture"}
    hits = tiny_kb.search("what should I do", topic="soil_fertility", k=10)
    assert [h.entry_id for h in hits] == ["agri-compost"]


def test_hits_are_entries_not_rows(tiny_kb):
    hits = tiny_kb.search("maize caterpillars fall armyworm", k=5)
    ids = [h.entry_id for h in hits]
    assert len(ids) == len(set(ids))


def test_fts_query_quotes_every_term():
    assert fts_query('maize" OR NEAR(x) *') == '"maize" OR "near" OR "x"'
    assert fts_query("the of and") == '"the" OR "of" OR "and"'  # only stop words: keep them
    assert fts_query("   ") is None


def test_reciprocal_rank_fusion_rewards_agreement():
    info = {1: RowInfo("a", "question", "en", "a1"), 2: RowInfo("b", "question", "en", "b1"),
            3: RowInfo("c", "question", "sw", "c1"), 4: RowInfo("c", "answer", "en", "c2")}
    hits = fuse(dense_rows=[(1, 0.9), (3, 0.8)], lexical_rows=[(4, 7.0), (2, 5.0)], info=info, language="en", rrf_k=60)
    assert [h.entry_id for h in hits] == ["c", "a", "b"]
    c = hits[0]
    assert c.score == 1 / 62 + 1 / 61 and (c.dense_rank, c.lexical_rank) == (2, 1)
    assert c.text == "c2" and c.language == "en"  # the row in the query's language
