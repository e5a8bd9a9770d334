"""SMS segment counting (figures verified in shared/docs/channels.md) and channel rendering."""

import html

import pytest

from advisor import sms
from advisor.channels import TELEGRAM_LIMIT, Block, render


@pytest.mark.parametrize("text, segments, encoding", [
    ("a" * 160, 1, "GSM-7"), ("a" * 161, 2, "GSM-7"), ("a" * 307, 3, "GSM-7"),
    ("€" * 80, 1, "GSM-7"), ("€" * 81, 2, "GSM-7"),
    ("ê" * 70, 1, "UCS-2"), ("ê" * 71, 2, "UCS-2"),
    ("😀" * 35, 1, "UCS-2"), ("😀" * 36, 2, "UCS-2"),
    ("a" * 152 + "€" + "a" * 152, 3, "GSM-7"),  # an escape sequence is never split
])
def test_segments_match_the_verified_figures(text, segments, encoding):
    size = sms.size(text)
    assert (size.segments, size.encoding) == (segments, encoding)


def test_one_curly_quote_would_make_ucs2_but_folding_keeps_gsm7():
    text = "Don’t spray “today” – wait…"
    assert sms.encoding(text) == "UCS-2"
    assert sms.fold(text) == "Don't spray \"today\" - wait..."
    assert sms.encoding(sms.fold(text)) == "GSM-7"


def test_a_long_sms_fits_the_budget_and_keeps_the_rest_for_more():
    answer = " ".join(f"Sentence number {n} says something useful." for n in range(40))
    rendered = render("sms", [Block("DANGER SIGN: go now.", "emergency"), Block(answer, "answer")], 3,
                      "Reply MORE for the rest.")
    [part] = rendered.parts
    assert part.segments == 3 and part.encoding == "GSM-7" and sms.size(part.text).segments == 3
    assert part.text.startswith("DANGER SIGN: go now.\n") and part.text.endswith("\nReply MORE for the rest.")
    body = part.text.removesuffix("\nReply MORE for the rest.")
    assert body.endswith(".")  # cut between sentences
    assert sms.fold(f"DANGER SIGN: go now.\n{answer}") == f"{body} {rendered.rest}"
    follow = render("sms", [Block(rendered.rest, "answer")], 3, "Reply MORE for the rest.")
    assert follow.parts[0].segments <= 3


def test_ucs2_budget_is_counted_in_ucs2_segments():
    answer = "Ceci est une phrase française très utile. " * 12  # ç makes it UCS-2
    rendered = render("sms", [Block(answer, "answer")], 2, "Répondez SUITE.")
    assert rendered.parts[0].encoding == "UCS-2" and rendered.parts[0].segments <= 2 and rendered.rest


def test_short_sms_is_one_part_with_no_rest():
    rendered = render("sms", [Block("Hello.")], 3, "Reply MORE.")
    assert [(p.text, p.segments, p.encoding) for p in rendered.parts] == [("Hello.", 1, "GSM-7")]
    assert rendered.rest is None


def test_telegram_splits_at_4096_escapes_html_and_bolds_the_emergency():
    long_answer = "Keep <b>this</b> & that. " * 400  # 10,000 characters
    rendered = render("telegram", [Block("Go <now>", "emergency"), Block(long_answer, "answer")], 3, "")
    assert rendered.parts[0].text.startswith("<b>Go &lt;now&gt;</b>")
    assert all(p.parse_mode == "HTML" for p in rendered.parts)
    assert all(len(html.unescape(p.text.replace("<b>", "").replace("</b>", ""))) <= TELEGRAM_LIMIT
               for p in rendered.parts)
    assert len(rendered.parts) == 3  # the emergency line shares the first message; 10,000 characters need 3
    visible = " ".join(html.unescape(p.text) for p in rendered.parts).replace("<b>Go <now></b>\n\n", "", 1)
    assert visible == long_answer.strip()
    assert "<b>this</b>" not in "".join(p.text for p in rendered.parts)  # escaped, never live markup


def test_web_is_one_unlimited_part():
    rendered = render("web", [Block("x " * 5000), Block("y")], 3, "")
    assert len(rendered.parts) == 1 and rendered.parts[0].segments is None
