"""Channel profiles: how a composed reply becomes the messages a channel sends.

- SMS: typographic characters folded to stay in GSM-7; the reply fits a budget of segments
  (default 3) with a localized "Reply MORE" line, and the rest is kept for a MORE reply.
  Cuts fall between blocks, else between sentences, else between words.
- Telegram: parts of at most 4096 characters (counted before HTML escaping, as Telegram counts
  after parsing entities), HTML-escaped, the emergency block in bold.
- Web and terminal: one part, no limit.
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass

from . import sms

SMS, TELEGRAM, WEB, TERMINAL = "sms", "telegram", "web", "terminal"
CHANNELS = (SMS, TELEGRAM, WEB, TERMINAL)
TELEGRAM_LIMIT = 4096
SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")


@dataclass(frozen=True)
class Block:
    """One paragraph of a reply and where it came from (kind: emergency, answer, note, menu, catalog, disclaimer)."""

    text: str
    kind: str = "catalog"


@dataclass
class Part:
    """One message as the channel sends it."""

    text: str
    segments: int | None = None
    encoding: str | None = None
    parse_mode: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Rendered:
    parts: list[Part]
    rest: str | None = None  # kept back for MORE (SMS only)


def join(blocks: list[Block], separator: str = "\n\n") -> str:
    return separator.join(block.text for block in blocks if block.text)


def pieces(text: str) -> list[str]:
    """Cut points from coarse to fine: lines, sentences, words (each piece keeps its separator)."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        for sentence in re.split(r"(?<=[.!?:;])(?=\s)", line):
            out.extend(re.findall(r"\s*\S+", sentence) if len(sentence) > 120 else [sentence])
    return [p for p in out if p]


def longest_prefix(text: str, fits) -> tuple[str, str]:
    """The longest run of whole pieces of `text` for which fits(prefix) holds, and the rest."""
    chunks = pieces(text)
    taken = ""
    for index, chunk in enumerate(chunks):
        candidate = taken + chunk
        if not fits(candidate.rstrip()):
            if not taken:  # one piece too long for the budget: cut it by characters
                cut = max(1, next((n for n in range(len(chunk), 0, -1) if fits(chunk[:n])), 1))
                return chunk[:cut], chunk[cut:] + "".join(chunks[index + 1:])
            return taken.rstrip(), "".join(chunks[index:]).strip()
        taken = candidate
    return taken.rstrip(), ""


def render_sms(text: str, budget: int, more_hint: str) -> Rendered:
    text = sms.fold(text).strip()
    hint = sms.fold(more_hint)
    if sms.fits(text, budget):
        size = sms.size(text)
        return Rendered([Part(text, size.segments, size.encoding)])
    head, rest = longest_prefix(text, lambda prefix: sms.fits(f"{prefix}\n{hint}", budget))
    body = f"{head}\n{hint}"
    size = sms.size(body)
    return Rendered([Part(body, size.segments, size.encoding)], rest or None)


def render_telegram(blocks: list[Block]) -> Rendered:
    parts: list[Part] = []
    for block in blocks:
        remaining = block.text
        while remaining:
            chunk, remaining = longest_prefix(remaining, lambda prefix: len(prefix) <= TELEGRAM_LIMIT)
            escaped = html.escape(chunk, quote=False)
            if block.kind == "emergency":
                escaped = f"<b>{escaped}</b>"
            parts.append(Part(escaped, parse_mode="HTML"))
    return Rendered(merge_telegram(parts))


def merge_telegram(parts: list[Part]) -> list[Part]:
    """Blocks share a message while it stays under the limit."""
    merged: list[Part] = []
    for part in parts:
        if merged and len(html.unescape(re.sub(r"</?b>", "", merged[-1].text + part.text))) + 2 <= TELEGRAM_LIMIT:
            merged[-1] = Part(merged[-1].text + "\n\n" + part.text, parse_mode="HTML")
        else:
            merged.append(part)
    return merged


def render(channel: str, blocks: list[Block], sms_budget: int, more_hint: str) -> Rendered:
    blocks = [block for block in blocks if block.text]
    if not blocks:  # nothing to send (e.g. a rate-limited user who was already told)
        return Rendered([])
    if channel == SMS:
        return render_sms(join(blocks, "\n"), sms_budget, more_hint)
    if channel == TELEGRAM:
        return render_telegram(blocks)
    return Rendered([Part(join(blocks))])
