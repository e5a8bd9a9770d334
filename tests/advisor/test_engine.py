"""The engine end to end on the starter knowledge base, without a classifier (keyword rules only),
with its conversation state in a fresh database per test."""

import json
import logging

import pytest

from advisor.catalog import Catalog
from advisor.engine import Advisor
from advisor.reply import Message, Reason
from advisor.sms import size
from knowledge.entry import Entry
from knowledge.errors import BadInputError

CATALOG = Catalog()


@pytest.fixture
def advisor(starter_settings, starter_kb, tmp_path):
    engine = Advisor(starter_settings, starter_kb, state_db=tmp_path / "state.db")
    yield engine
    engine.db.conn.close()


def make(settings, kb, tmp_path, **changes):
    return Advisor(settings.model_copy(update=changes), kb, state_db=tmp_path / "state2.db")


def send(advisor, text, user="u1", channel="web", **kw):
    return advisor.reply(Message(text, user, channel, **kw))


def test_a_confident_question_gets_the_entry_answer_in_its_language(advisor, starter_kb):
    reply = send(advisor, "How do I control fall armyworm in maize?")
    assert reply.reason == Reason.ANSWERED and reply.answer_ids == ["agri-pest-fall-armyworm-control"]
    assert reply.text == starter_kb.store.get("agri-pest-fall-armyworm-control").answers["en"]
    assert reply.language == "en" and reply.entries[0]["id"] == "agri-pest-fall-armyworm-control"
    assert {"language", "retrieve", "decide", "compose", "render", "total"} <= reply.timings_ms.keys()
    json.dumps(reply.to_dict())  # the shape `ask --json` prints


def test_health_answers_carry_the_disclaimer(advisor):
    reply = send(advisor, "How can I prevent malaria?")
    assert reply.reason == Reason.ANSWERED
    assert reply.text.endswith(CATALOG.get("health_disclaimer", "en"))


def test_an_emergency_rule_puts_the_emergency_text_first_even_with_no_match(advisor):
    reply = send(advisor, "xqzv mtoto ana degedege", channel="sms")
    assert reply.reason == Reason.URGENT and reply.safety == ["emergency:rule"]
    emergency = CATALOG.get("emergency", reply.language).format(hotline="112")
    assert reply.parts[0].text.startswith(emergency)


def test_nothing_confident_goes_to_the_expert_queue_with_personal_data_masked(advisor):
    reply = send(advisor, "quantum chromodynamics lattice gauge theory, call me on 0712345678", user="254700")
    assert reply.reason == Reason.NO_MATCH and reply.text == CATALOG.get("no_match", "en")
    [item] = advisor.unanswered.items()
    assert item["id"] == reply.queued and item["user_key"] == "254700" and item["channel"] == "web"
    assert "0712345678" not in item["text"] and "[phone]" in item["text"] and len(item["candidates"]) == 3


def test_a_menu_is_picked_by_number_and_then_forgotten(advisor, starter_kb):
    menu = send(advisor, "maize problem")
    assert menu.reason == Reason.CLARIFY
    lines = menu.text.splitlines()
    assert lines[0] == CATALOG.get("menu_intro", "en") and lines[1].startswith("Reply 1 for: ")
    first = menu.entries[0]["id"]
    picked = send(advisor, "1")
    assert picked.reason == Reason.ANSWERED and picked.answer_ids == [first]
    assert picked.text.startswith(starter_kb.store.get(first).answers["en"])
    again = send(advisor, "1")
    assert again.reason == Reason.UNCLEAR and again.text == CATALOG.get("menu_none", "en")


def test_a_follow_up_stays_in_the_previous_question_topic(advisor):
    assert send(advisor, "How do I get rid of aphids on kale?").answer_ids == ["agri-pest-aphids-beans-kale"]
    assert advisor.memory.get("u1").last_topic == "pests"
    follow = send(advisor, "and for beans?")
    alone = send(advisor, "and for beans?", user="someone-else")
    assert follow.reason == Reason.CLARIFY
    assert "agri-pest-aphids-beans-kale" in advisor.memory.get("u1").menu  # the best bean entry about pests
    offered_alone = advisor.memory.get("someone-else").menu + alone.answer_ids
    assert offered_alone and "agri-pest-aphids-beans-kale" not in offered_alone


def test_sms_keeps_the_rest_for_more(starter_settings, starter_kb, tmp_path):
    advisor = make(starter_settings, starter_kb, tmp_path, sms_segments=1)
    first = send(advisor, "How do I control fall armyworm in maize?", channel="sms")
    [part] = first.parts
    assert part.segments == 1 == size(part.text).segments and part.encoding == "GSM-7"
    assert part.text.endswith(CATALOG.get("more_hint", "en"))
    texts = [part.text.removesuffix("\n" + CATALOG.get("more_hint", "en"))]
    while True:
        more = send(advisor, "MORE", channel="sms")
        assert more.reason == Reason.MORE and all(p.segments == 1 for p in more.parts)
        if more.text == CATALOG.get("more_empty", "en"):
            break
        texts.append(more.parts[0].text.removesuffix("\n" + CATALOG.get("more_hint", "en")))
    assert len(texts) > 2 and " ".join(texts) == first.text


def test_an_explicit_language_switch_is_kept(advisor, starter_kb):
    switched = send(advisor, "LANG SW")
    assert switched.reason == Reason.LANGUAGE and switched.text == CATALOG.get("language_set", "sw")
    reply = send(advisor, "How do I control fall armyworm in maize?")
    assert reply.language == "sw" and reply.text == starter_kb.store.get("agri-pest-fall-armyworm-control").answers["sw"]
    assert send(advisor, "lugha").text == CATALOG.get("language_menu", "sw")


def test_short_messages_keep_the_last_language(advisor):
    assert send(advisor, "Nitadhibiti vipi viwavijeshi kwenye mahindi yangu?").language == "sw"
    assert send(advisor, "asante").language == "sw"


def test_an_entry_without_the_language_comes_in_the_default_with_a_note(kb, tmp_path, tiny_file):
    kb.import_files([tiny_file])
    kb.reindex()
    advisor = Advisor(kb.settings, kb, state_db=tmp_path / "s.db")
    reply = send(advisor, "How do I control fall armyworm in maize?", language="fr")
    assert reply.reason == Reason.ANSWERED
    assert reply.text.startswith(kb.store.get("maize-fall-armyworm").answers["en"])
    assert CATALOG.get("language_note", "fr") in reply.text


def test_blocked_advice_is_replaced_by_a_referral_and_logged(kb, tmp_path, caplog):
    kb.save(Entry(id="bad-advice", domain="agriculture", topic="pests",
                  questions={"en": ["How do I kill nematodes in my tomato field?"], "sw": ["Nematodi nyanya?"]},
                  answers={"en": "Apply carbofuran granules at planting.", "sw": "Tumia carbofuran."}, source="test"))
    kb.reindex()
    advisor = Advisor(kb.settings, kb, state_db=tmp_path / "s.db")
    with caplog.at_level(logging.WARNING, logger="advisor.engine"):
        reply = send(advisor, "How do I kill nematodes in my tomato field?", channel="sms")
    assert reply.reason == Reason.BLOCKED and reply.answer_ids == []
    assert reply.text == CATALOG.get("blocked_pesticide", "en")
    assert all("carbofuran" not in p.text.lower() for p in reply.parts)
    assert reply.safety == ["blocked:highly_hazardous_pesticides"] and "carbofuran" in caplog.text


@pytest.mark.parametrize("text, reason", [
    ("hello", Reason.GREETING), ("thank you very much", Reason.THANKS), ("asdfghjkl qwrtzpsdf", Reason.UNCLEAR),
    ("you stupid bot", Reason.ABUSIVE), ("", Reason.UNCLEAR),
])
def test_social_abusive_and_nonsense_messages_get_calm_catalog_replies(advisor, text, reason):
    reply = send(advisor, text)
    assert reply.reason == reason
    assert reply.text == CATALOG.get(str(reason).lower(), reply.language)
    assert "stupid" not in reply.text


def test_the_rate_limit_answers_once_then_stays_silent(starter_settings, starter_kb, tmp_path):
    advisor = make(starter_settings, starter_kb, tmp_path, rate_limit_per_minute=2)
    assert [send(advisor, "hello").reason for _ in range(2)] == [Reason.GREETING] * 2
    limited = send(advisor, "hello")
    assert limited.reason == Reason.RATE_LIMITED and limited.text == CATALOG.get("rate_limited", "en")
    silent = send(advisor, "hello")
    assert silent.reason == Reason.RATE_LIMITED and silent.parts == []
    assert send(advisor, "hello", user="another").reason == Reason.GREETING


def test_long_messages_are_cut(starter_settings, starter_kb, tmp_path):
    advisor = make(starter_settings, starter_kb, tmp_path, max_message_chars=40)
    send(advisor, "How do I control fall armyworm in maize? " + "x" * 5000, user="long")
    assert len(advisor.memory.get("long").last_text) <= 40


def test_a_preview_stores_nothing(advisor):
    reply = send(advisor, "quantum chromodynamics lattice gauge theory", user="preview", preview=True)
    assert reply.reason == Reason.NO_MATCH and reply.queued is None
    assert advisor.unanswered.items() == [] and advisor.memory.get("preview").last_text is None


def test_an_unknown_channel_is_bad_input():
    with pytest.raises(BadInputError, match="unknown channel 'fax'; use one of: sms, telegram, web, terminal"):
        Message("hi", "u", "fax")
