"""The engine with the classifier trained as `make run` trains it (slow: the session's `trained_dir`),
measured on the starter test split and evaluation questions."""

import pytest

from advisor.catalog import Catalog
from advisor.classifier import Classifier
from advisor.engine import Advisor
from advisor.evaluate import gather, score
from advisor.reply import Message, Reason
from advisor.training_data import read_examples
from bot.cli.model import LABELLED
from knowledge.evaluate import read_queries
from knowledge.settings import PACKAGE_DATA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(trained_dir, starter_settings, starter_kb, tmp_path_factory):
    classifier = Classifier.load(trained_dir / "classifier", device="cpu", topic_labels=starter_kb.taxonomy.labels)
    advisor = Advisor(starter_settings, starter_kb, classifier, state_db=tmp_path_factory.mktemp("quality") / "s.db")
    yield advisor
    advisor.db.conn.close()


def test_every_emergency_in_the_test_split_gets_the_emergency_text_first(engine):
    emergencies = [e for e in read_examples(LABELLED / "test.jsonl") if e.labels["urgency"] == "emergency"]
    missed = []
    for example in emergencies:
        reply = engine.reply(Message(example.text, "quality", "sms", preview=True))
        first = Catalog().get("emergency", reply.language).format(hotline=engine.settings.emergency_hotline)
        if not (reply.reason == Reason.URGENT and reply.parts and reply.parts[0].text.startswith(first)):
            missed.append(example.text)
    recall = 1 - len(missed) / len(emergencies)
    assert len(emergencies) > 100 and recall >= 0.99, missed


def test_reply_decisions_on_the_evaluation_questions(engine):
    queries = read_queries(PACKAGE_DATA / "eval")
    off_topic = [(e.text, e.language) for e in read_examples(LABELLED / "validation.jsonl")
                 if e.labels["topic"] == "out_of_scope"]
    report = score(gather(engine, queries, off_topic), engine.thresholds, narrowing=True)
    overall = report["overall"]
    assert overall["wrong"] <= 0.05, report  # measured 0.027
    assert overall["correct"] + overall["menu_hit"] >= 0.7, report  # measured 0.785
    assert report["off_topic"]["answered"] <= 0.1, report
