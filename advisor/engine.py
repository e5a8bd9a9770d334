"""The advisor engine: from one message to a safe, localized reply sized for its channel.

`Advisor.reply` reads as the list of its steps; each step lives in its own module:

    limit     per-user rate limit                      memory.RateLimiter
    commands  LANG / MORE / menu numbers               keywords.Keywords
    language  lingua, else the user's last language    language.LanguageDetector
    classify  topic and urgency                        classifier.Classifier
    rules     emergency keyword rules                  safety.EmergencyRules
    social    greetings, thanks, abuse, nonsense       keywords / safety
    retrieve  topic first, then everything             retrieve.Retriever
    decide    answer, menu or nothing                  decide.decide
    compose   catalog sentences and entry answers      compose.Composer
    safety    blocked advice, emergency first          safety.BlockedTerms
    render    SMS segments, Telegram parts             channels.render
    memory    what the next message needs              memory.Memory
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.base import KnowledgeBase
from knowledge.errors import BadInputError, NotFoundError
from knowledge.settings import Settings

from . import channels
from .catalog import Catalog
from .channels import Block
from .classifier import EMERGENCY, META_FILE, UNKNOWN, Classifier
from .compose import Composer
from .decide import ANSWER, MENU, NONE, Decision, Thresholds, decide
from .keywords import Keywords
from .language import LanguageDetector
from .memory import Conversation, Memory, RateLimiter, UnansweredQueue, connect
from .reply import Message, Reason, Reply
from .retrieve import Retriever
from .safety import (
    ABUSE_WORDS, BLOCKED_TERMS, EMERGENCY_RULES, AbuseWords, BlockedTerms, EmergencyRules, PiiFilter,
    looks_like_nonsense, mask_pii,
)

log = logging.getLogger(__name__)
log.addFilter(PiiFilter())
SPECIAL_TOPICS = {"greeting", "thanks", "out_of_scope", UNKNOWN}
SOCIAL_MIN_P = 0.5
SOCIAL_MAX_WORDS = 5


@dataclass
class Prepared:
    """Work done for a batch of messages at once: classifier labels and query vectors."""

    labels: dict[str, dict]
    vector: np.ndarray | None


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.ms: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = round(self.ms.get(name, 0.0) + (time.perf_counter() - start) * 1000, 2)

    def done(self) -> dict[str, float]:
        return {**self.ms, "total": round((time.perf_counter() - self.started) * 1000, 2)}


class Advisor:
    """Answers messages. Build it once (models and index load in `load`), then call `reply`."""

    def __init__(self, settings: Settings, kb: KnowledgeBase | None = None, classifier: Classifier | None = None,
                 catalog: Catalog | None = None, state_db: Path | None = None, mode: str = "hybrid"):
        """`state_db`: where conversations, rate limits and the unanswered queue live (default: the
        data folder's database); `mode`: hybrid, dense or lexical retrieval (baselines for bench)."""
        self.settings = settings
        self.kb = kb or KnowledgeBase(settings)
        self.classifier = classifier
        self.catalog = catalog or Catalog(default_language=settings.default_language)
        self.detector = LanguageDetector(settings.languages)
        self.keywords = Keywords(settings.languages)
        self.emergency_rules = EmergencyRules(settings.emergency_rules_file or EMERGENCY_RULES)
        self.blocked = BlockedTerms(settings.blocked_terms_file or BLOCKED_TERMS)
        self.abuse = AbuseWords(ABUSE_WORDS)
        self.thresholds = Thresholds.from_settings(settings)
        self.compose = Composer(self.catalog, settings.default_language, settings.emergency_hotline)
        self.retriever = Retriever(self.kb, settings.topic_narrowing, mode)
        lock = threading.RLock()
        self.db = connect(state_db or settings.db_path)
        self.memory = Memory(self.db, lock)
        self.limiter = RateLimiter(self.db, lock, settings.rate_limit_per_minute)
        self.unanswered = UnansweredQueue(self.db, lock)
        missing = [key for key in self.blocked.referral_keys if key not in self.catalog.messages[settings.default_language]]
        if missing:
            raise BadInputError(f"blocked-term lists name catalog keys that do not exist: {', '.join(missing)}")

    @classmethod
    def open(cls, settings: Settings, kb: KnowledgeBase | None = None, **options: object) -> "Advisor":
        """An advisor with the data folder's trained classifier, or none (rules only) with a warning."""
        classifier = None
        if (settings.classifier_dir / META_FILE).exists():
            kb = kb or KnowledgeBase(settings)
            classifier = Classifier.load(settings.classifier_dir, settings.device, kb.taxonomy.labels)
        else:
            log.warning("no trained classifier in %s: emergencies are found by keyword rules only, and search"
                        " is not narrowed by topic; run `ushauri setup` or `ushauri train`", settings.classifier_dir)
        return cls(settings, kb, classifier, **options)

    def load(self) -> "Advisor":
        """Load models and the index now, not on the first message."""
        self.kb.load()
        if self.classifier is not None:
            self.classifier.predict(["warm up"])
        return self

    def close(self) -> None:
        self.db.conn.close()
        self.kb.close()

    # The steps ---------------------------------------------------------------------------
    def reply(self, message: Message, prepared: Prepared | None = None) -> Reply:
        timer = Timer()
        text = " ".join(message.text.split())[: self.settings.max_message_chars]
        conversation = self.memory.get(message.user_key)
        with timer.step("limit"):
            count = 0 if message.preview else self.limiter.hit(message.user_key)
        if self.limiter.over(count):
            first = count == self.settings.rate_limit_per_minute + 1  # one polite reply, then silence
            language = self.reply_language(conversation, message, None)
            return self.finish(message, conversation, timer, Reason.RATE_LIMITED, language,
                               [self.compose.say("rate_limited", language)] if first else [], save=False)

        with timer.step("commands"):
            handled = self.commands(message, text, conversation, timer)
        if handled is not None:
            return handled

        with timer.step("language"):
            detection = self.detector.detect(text, conversation.language or self.settings.default_language)
            language = self.reply_language(conversation, message, detection.language if detection.detected else None)
            query_language = detection.language if detection.detected else language
        followup = self.is_followup(text, conversation)
        with timer.step("classify"):  # a follow-up is classified with the question it follows
            labels = self.classify(f"{conversation.last_text} {text}" if followup else text,
                                   None if followup else prepared)
        with timer.step("rules"):
            rule = self.emergency_rules.match(text)
        emergency = bool(rule) or labels.get("urgency", {}).get("label") == EMERGENCY
        safety = [f"emergency:{'rule' if rule else 'classifier'}"] if emergency else []

        if not emergency:
            with timer.step("social"):
                social = self.social(text, labels)
            if social is not None:
                if social == Reason.UNCLEAR:  # detection means nothing on nonsense
                    language = self.reply_language(conversation, message, None)
                return self.finish(message, conversation, timer, social, language,
                                   [self.compose.say(str(social).lower(), language)], labels=labels)

        topic = labels.get("topic", {}).get("label")
        if followup and conversation.last_topic:  # "and for beans?" stays in the last question's topic
            topic = conversation.last_topic
        with timer.step("retrieve"):
            hits, narrowed = self.retriever.search(text, query_language, None if topic in SPECIAL_TOPICS else topic,
                                                   prepared.vector if prepared else None)
        with timer.step("decide"):
            decision = decide(hits, query_language, self.thresholds, narrowed)
        if not emergency and decision.kind != ANSWER and self.abuse.found(text):
            return self.finish(message, conversation, timer, Reason.ABUSIVE, language,
                               [self.compose.say("abusive", language)], labels=labels)

        with timer.step("compose"):
            reason, blocks, answer_ids = self.answer(decision, language, emergency)
        queued = None
        if decision.kind == NONE and not message.preview:
            queued = self.unanswered.add(message.user_key, message.channel, language, mask_pii(text), str(reason),
                                         [{"id": h.entry_id, "score": round(h.score, 4)} for h in hits[:3]])
        conversation.menu = [h.entry_id for h in decision.hits] if decision.kind == MENU else []
        if answer_ids:
            conversation.last_entry = answer_ids[0]
            conversation.last_topic = self.kb.store.get(answer_ids[0]).topic
        elif topic not in SPECIAL_TOPICS:
            conversation.last_topic = topic
        conversation.last_text, conversation.last_at = mask_pii(text), time.time()
        return self.finish(message, conversation, timer, reason, language, blocks, labels=labels,
                           hits=hits, answer_ids=answer_ids, safety=safety, queued=queued)

    # Step helpers ------------------------------------------------------------------------
    def reply_language(self, conversation: Conversation, message: Message, detected: str | None) -> str:
        """An explicit choice wins; then the detected language; then the last one; then the default."""
        if message.language:
            return message.language
        if conversation.language_chosen and conversation.language:
            return conversation.language
        return detected or conversation.language or self.settings.default_language

    def commands(self, message: Message, text: str, conversation: Conversation, timer: Timer) -> Reply | None:
        """Language switches, MORE and menu numbers; None when the message is none of them."""
        switch = self.keywords.language_switch(text)
        if switch is not None:
            if switch.language is None:
                language = self.reply_language(conversation, message, None)
                return self.finish(message, conversation, timer, Reason.LANGUAGE, language,
                                   [self.compose.say("language_menu", language)])
            conversation.language, conversation.language_chosen = switch.language, True
            return self.finish(message, conversation, timer, Reason.LANGUAGE, switch.language,
                               [self.compose.say("language_set", switch.language)])
        language = self.reply_language(conversation, message, None)
        if self.keywords.is_more(text):
            if not conversation.more:
                return self.finish(message, conversation, timer, Reason.MORE, language,
                                   [self.compose.say("more_empty", language)])
            rest, conversation.more = conversation.more, None
            return self.finish(message, conversation, timer, Reason.MORE, language, [Block(rest, "answer")])
        choice = self.keywords.menu_choice(text)
        if choice is None:
            return None
        if not 1 <= choice <= len(conversation.menu):
            return self.finish(message, conversation, timer, Reason.UNCLEAR, language,
                               [self.compose.say("menu_none", language)])
        try:
            entry = self.kb.store.get(conversation.menu[choice - 1])
        except NotFoundError:
            entry = None
        if entry is None or entry.status != "published":
            conversation.menu = []
            return self.finish(message, conversation, timer, Reason.UNCLEAR, language,
                               [self.compose.say("menu_none", language)])
        conversation.menu, conversation.last_entry, conversation.last_topic = [], entry.id, entry.topic
        blocks = self.compose.answer(entry, language)
        reason = Reason.ANSWERED
        if entry.urgent:
            blocks, reason = [self.compose.emergency(language), *blocks], Reason.URGENT
        return self.finish(message, conversation, timer, reason, language, blocks, answer_ids=[entry.id],
                           safety=["emergency:entry"] if entry.urgent else [])

    def is_followup(self, text: str, conversation: Conversation) -> bool:
        """A short follow-up ("and for beans?") soon after a question: it is classified together with
        that question and searched within that question's topic."""
        recent = conversation.last_at and time.time() - conversation.last_at <= self.settings.followup_minutes * 60
        return bool(recent and conversation.last_text and self.keywords.is_followup(text))

    def classify(self, text: str, prepared: Prepared | None) -> dict[str, dict]:
        if prepared is not None and prepared.labels:
            return prepared.labels
        if self.classifier is None:
            return {}
        return self.classifier.predict([text])[0]

    def social(self, text: str, labels: dict[str, dict]) -> Reason | None:
        """Nonsense, greetings and thanks, insults with no farming or health topic, off-topic messages."""
        if looks_like_nonsense(text):
            return Reason.UNCLEAR
        intent = self.keywords.social_intent(text)
        topic = labels.get("topic", {})
        label, p = topic.get("label"), topic.get("p", 0.0)
        if intent is None and label in {"greeting", "thanks"} and p >= SOCIAL_MIN_P and len(text.split()) <= SOCIAL_MAX_WORDS:
            intent = label
        if intent is not None:
            return Reason.GREETING if intent == "greeting" else Reason.THANKS
        if label in SPECIAL_TOPICS and self.abuse.found(text):
            return Reason.ABUSIVE
        if label == "out_of_scope" and p >= SOCIAL_MIN_P:
            return Reason.OUT_OF_SCOPE
        return None

    def answer(self, decision: Decision, language: str, emergency: bool) -> tuple[Reason, list[Block], list[str]]:
        """The reason and blocks for a decision; the emergency instruction always comes first."""
        blocks: list[Block] = []
        answer_ids: list[str] = []
        if decision.kind == ANSWER:
            entry = self.kb.store.get(decision.hits[0].entry_id)
            emergency = emergency or entry.urgent
            blocks, answer_ids, reason = self.compose.answer(entry, language), [entry.id], Reason.ANSWERED
        elif decision.kind == MENU:
            entries = [self.kb.store.get(h.entry_id) for h in decision.hits]
            blocks, reason = self.compose.menu(entries, language), Reason.CLARIFY
        else:
            blocks, reason = ([] if emergency else [self.compose.say("no_match", language)]), Reason.NO_MATCH
        if emergency:
            blocks, reason = [self.compose.emergency(language), *blocks], Reason.URGENT
        return reason, blocks, answer_ids

    def screen(self, blocks: list[Block], language: str, safety: list[str]) -> tuple[list[Block], bool]:
        """Blocked advice never goes out: such a reply becomes a referral (after any emergency block)."""
        found = self.blocked.find(channels.join(blocks))
        if found is None:
            return blocks, False
        log.warning("blocked a reply naming '%s' (list %s)", found.term, found.list_name)
        safety.append(f"blocked:{found.list_name}")
        kept = [b for b in blocks if b.kind == "emergency"]
        return [*kept, self.compose.say(found.referral, language, "referral")], True

    def finish(self, message: Message, conversation: Conversation, timer: Timer, reason: Reason, language: str,
               blocks: list[Block], *, labels: dict | None = None, hits: list | None = None,
               answer_ids: list[str] | None = None, safety: list[str] | None = None, queued: int | None = None,
               save: bool = True) -> Reply:
        safety = list(safety or [])
        with timer.step("safety"):
            blocks, was_blocked = self.screen(blocks, language, safety)
        if was_blocked:
            answer_ids = []
            if reason != Reason.URGENT:
                reason = Reason.BLOCKED
        with timer.step("render"):
            rendered = channels.render(message.channel, blocks, self.settings.sms_segments,
                                       self.catalog.get("more_hint", language))
        if save and not message.preview:
            with timer.step("memory"):
                if not conversation.language_chosen:
                    conversation.language = language
                if message.channel == channels.SMS and reason != Reason.RATE_LIMITED:
                    conversation.more = rendered.rest
                self.memory.save(conversation)
        reply = Reply(
            text=channels.join(blocks), parts=rendered.parts, language=language, reason=reason,
            entries=[{"id": h.entry_id, "score": round(h.score, 4), "dense": h.dense, "lexical": h.lexical}
                     for h in (hits or [])],
            labels=labels or {}, timings_ms=timer.done(), safety=safety, answer_ids=answer_ids or [], queued=queued,
        )
        log.debug("%s %s %s -> %s %s", message.channel, message.user_key, mask_pii(message.text[:80]), reason,
                 reply.answer_ids)
        return reply

    # Batches -----------------------------------------------------------------------------
    def prepare(self, texts: list[str]) -> list[Prepared]:
        """Classify and embed many messages at once (throughput for batches; bench)."""
        labels = self.classifier.predict(texts) if self.classifier is not None and texts else [{} for _ in texts]
        vectors = self.kb.embedder.encode(texts) if texts else []
        return [Prepared(label, vector) for label, vector in zip(labels, vectors)]

    def reply_many(self, messages: list[Message]) -> list[Reply]:
        prepared = self.prepare([" ".join(m.text.split())[: self.settings.max_message_chars] for m in messages])
        return [self.reply(message, ready) for message, ready in zip(messages, prepared)]
