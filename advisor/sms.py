"""SMS sizing: GSM-7 or UCS-2, segment counts, and folding typographic characters.

The rules follow shared/docs/channels.md, section 5 (3GPP TS 23.038): a message is GSM-7 when
every character is in the basic or extension table, else UCS-2. GSM-7 costs one septet a basic
character and two an extension character; UCS-2 one unit a UTF-16 code unit. One SMS holds 160
septets or 70 units; a concatenated message packs 153 or 67 a segment, greedily, never splitting
an escape sequence or a surrogate pair.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
SINGLE = {GSM7: 160, UCS2: 70}
PER_SEGMENT = {GSM7: 153, UCS2: 67}

#: Typographic characters folded to their plain equivalents before sending, so that a curly
#: quote does not turn a whole message into UCS-2 (Twilio calls this "smart encoding").
FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "-", "\u00b7": "-",
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u2002": " ", "\u2003": " ",
    "\u200b": "", "\u200d": "", "\ufeff": "",
    "\t": " ",
})


def fold(text: str) -> str:
    """Replace typographic quotes, dashes, ellipses and odd spaces with GSM-7 characters."""
    return text.translate(FOLD)


def encoding(text: str) -> str:
    return GSM7 if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text) else UCS2


def char_units(ch: str, enc: str) -> int:
    if enc == GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return len(ch.encode("utf-16-le")) // 2


def units(text: str, enc: str | None = None) -> int:
    enc = enc or encoding(text)
    return sum(char_units(ch, enc) for ch in text)


@dataclass(frozen=True)
class Size:
    segments: int
    encoding: str
    units: int


def size(text: str) -> Size:
    """How many segments `text` takes, packed greedily as a phone network does."""
    enc = encoding(text)
    total = units(text, enc)
    if total <= SINGLE[enc]:
        return Size(1, enc, total)
    per, count, used = PER_SEGMENT[enc], 1, 0
    for ch in text:
        cost = char_units(ch, enc)
        if used + cost > per:
            count, used = count + 1, 0
        used += cost
    return Size(count, enc, total)


def fits(text: str, budget: int) -> bool:
    return size(text).segments <= budget
