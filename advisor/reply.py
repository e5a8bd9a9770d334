"""What goes into the engine and what comes out: a message, and a reply with its reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from knowledge.errors import BadInputError

from .channels import CHANNELS, Part


def check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise BadInputError(f"unknown channel '{channel}'; use one of: {', '.join(CHANNELS)}")


class Reason(StrEnum):
    """Why a reply is what it is. Expected outcomes are values, not exceptions."""

    ANSWERED = "ANSWERED"  # one confident knowledge-base entry
    CLARIFY = "CLARIFY"  # close runners-up: a numbered menu to pick from
    NO_MATCH = "NO_MATCH"  # nothing confident: passed to an expert (unanswered queue)
    URGENT = "URGENT"  # danger sign: emergency instruction first
    BLOCKED = "BLOCKED"  # the reply would have named blocked advice: a referral instead
    GREETING = "GREETING"
    THANKS = "THANKS"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    RATE_LIMITED = "RATE_LIMITED"
    ABUSIVE = "ABUSIVE"  # insults with no question in them
    UNCLEAR = "UNCLEAR"  # nonsense or an empty message
    LANGUAGE = "LANGUAGE"  # a language switch or the list of languages
    MORE = "MORE"  # the rest of a long SMS reply


@dataclass
class Message:
    """One inbound message. `language` is a preference given with the message (e.g. `ask --language`);
    a `preview` message (an operator trying a reply) changes nothing: no memory, queue or rate limit."""

    text: str
    user_key: str
    channel: str = "web"
    language: str | None = None
    preview: bool = False

    def __post_init__(self) -> None:
        check_channel(self.channel)


@dataclass
class Reply:
    """What to send back, and why."""

    text: str  # the whole composed reply, before channel sizing
    parts: list[Part]  # the messages the channel sends now, in order
    language: str
    reason: Reason
    entries: list[dict] = field(default_factory=list)  # matched entries: id, score, dense, lexical
    labels: dict = field(default_factory=dict)  # classifier labels with probabilities
    timings_ms: dict[str, float] = field(default_factory=dict)
    safety: list[str] = field(default_factory=list)  # what the safety steps did, e.g. "emergency:rule"
    answer_ids: list[str] = field(default_factory=list)  # entries whose text is in the reply
    queued: int | None = None  # unanswered-queue id, when the question went to an expert

    @property
    def urgent(self) -> bool:
        return self.reason == Reason.URGENT

    def to_dict(self) -> dict:
        return {
            "reply": self.text,
            "parts": [part.to_dict() for part in self.parts],
            "language": self.language,
            "reason": str(self.reason),
            "entries": self.entries,
            "answer_ids": self.answer_ids,
            "labels": self.labels,
            "safety": self.safety,
            "queued": self.queued,
            "timings_ms": self.timings_ms,
        }
