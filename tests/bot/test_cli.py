"""The command line, as an operator uses it: exit codes, one-line errors, JSON shapes."""

import json

import pytest
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


@pytest.fixture
def cli(settings):
    def run(*args, input=None):
        return runner.invoke(app, [*args, "--data-dir", str(settings.data_dir)], input=input)

    return run


def test_every_command_has_help():
    for command in ([], ["kb"], ["eval"], ["kb", "import"], ["kb", "search"], ["ask"], ["chat"], ["setup"],
                    ["eval", "retrieval"], ["bench"], ["kb", "export"], ["kb", "history"], ["serve"], ["telegram"],
                    ["telegram", "poll"], ["operators", "add"], ["eval", "replies"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "--data-dir" in result.output or command in ([], ["kb"], ["eval"], ["telegram"])


def test_import_search_show_history_export(cli, tiny_file, tmp_path):
    result = cli("kb", "import", str(tiny_file))
    assert result.exit_code == 0 and "5 added" in result.output
    assert "5 unchanged" in cli("kb", "import", str(tiny_file)).output

    result = cli("kb", "search", "mosquito net", "--json")
    assert result.exit_code == 0
    hits = json.loads(result.output)
    assert hits[0]["entry_id"] == "health-bednets"
    assert {"entry_id", "score", "dense", "lexical", "text", "language"} <= hits[0].keys()

    assert "health-bednets" in cli("kb", "show", "health-bednets").output
    assert json.loads(cli("kb", "history", "health-bednets", "--json").output)[0]["version"] == 1

    out = tmp_path / "export.yaml"
    assert cli("kb", "export", "--output", str(out)).exit_code == 0
    assert out.read_text().count("- id: ") == 5


def test_ask_json_follows_the_design_shape(cli, tiny_file):
    cli("kb", "import", str(tiny_file))
    result = cli("ask", "Nyoka amemuuma mtoto wangu mguuni", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"reply", "parts", "language", "reason", "entries", "labels", "timings_ms"} <= data.keys()
    assert data["reason"] == "URGENT" and data["entries"][0]["id"] == "health-snake-bite"
    assert data["language"] == "sw" and data["reply"].startswith("DALILI YA HATARI")
    assert data["safety"] == ["emergency:rule"]
    assert data["parts"] == [{"text": data["reply"], "segments": None, "encoding": None, "parse_mode": None}]


def test_ask_shows_what_an_sms_would_send(cli, tiny_file):
    cli("kb", "import", str(tiny_file))
    data = json.loads(cli("ask", "How do I make compost?", "--channel", "sms", "--json").stdout)
    assert data["reason"] == "ANSWERED" and data["parts"][0]["encoding"] == "GSM-7"
    assert data["parts"][0]["segments"] >= 1
    text = cli("ask", "How do I make compost?", "--channel", "sms").stdout
    assert text.startswith(f"--- SMS 1/1: {data['parts'][0]['segments']} segment(s), GSM-7,")
    assert cli("ask", "hi", "--channel", "fax").exit_code == 2


def test_ask_with_a_user_keeps_the_conversation(cli, tiny_file):
    cli("kb", "import", str(tiny_file))
    assert json.loads(cli("ask", "LANG SW", "--user", "k1", "--json").stdout)["reason"] == "LANGUAGE"
    assert json.loads(cli("ask", "How do I make compost?", "--user", "k1", "--json").stdout)["language"] == "sw"
    assert json.loads(cli("ask", "How do I make compost?", "--json").stdout)["language"] == "en"


def test_add_then_delete(cli):
    result = cli("kb", "add", "--id", "agri-new", "--language", "en", "-q", "How do I store beans?",
                 "-a", "Dry them well and keep them in sealed bags.", "--domain", "agriculture",
                 "--topic", "harvest_storage", "--source", "FAO")
    assert result.exit_code == 0 and "added (version 1)" in result.output
    result = cli("kb", "add", "--id", "agri-new", "--language", "sw", "-q", "Nihifadhi maharage vipi?",
                 "-a", "Yakaushe vizuri na uyaweke kwenye mifuko iliyofungwa.")
    assert "updated (version 2)" in result.output
    assert cli("kb", "delete", "agri-new", "--yes").exit_code == 0
    assert cli("kb", "show", "agri-new").exit_code == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["kb", "show", "nope"], "no entry with id 'nope'"),
        (["kb", "history", "nope"], "no entry with id 'nope'"),
        (["kb", "import", "missing.jsonl"], "no such file or folder"),
        (["kb", "export", "--format", "xml"], "unknown format 'xml'"),
        (["kb", "search", "x", "--mode", "fuzzy"], "unknown mode 'fuzzy'"),
        (["kb", "add", "--id", "x", "--language", "xx", "-q", "q", "-a", "a", "--domain", "health",
          "--topic", "nutrition"], "--language: unknown language code 'xx'; configured: en, sw, fr"),
        (["kb", "add", "--id", "x", "--language", "en", "-q", "q", "-a", "a"], "--domain: is missing"),
        (["kb", "delete", "nope", "--yes"], "no entry with id 'nope'"),
        (["ask", "habari", "--language", "xx"], "--language: unknown language 'xx'; configured: en, sw, fr"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0]


def test_bad_import_file_exits_2_and_names_the_line(cli, tmp_path, tiny_file):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(tiny_file.read_text().splitlines()[0] + "\n{not json\n")
    result = cli("kb", "import", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:2: malformed JSON" in result.output
    assert "0 entries" in cli("kb", "list").output


def test_bad_setting_exits_2(cli, monkeypatch):
    monkeypatch.setenv("USHAURI_LANGUAGES", "en,xx1")
    result = cli("kb", "list")
    assert result.exit_code == 2 and "USHAURI_LANGUAGES" in result.output


def test_eval_retrieval_json_shape(cli, tiny_file, tmp_path):
    cli("kb", "import", str(tiny_file))
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        json.dumps({"query": "ash and manure heap", "language": "en", "relevant_ids": ["agri-compost"]}) + "\n"
        + json.dumps({"query": "dawa ya mbu", "language": "sw", "relevant_ids": ["health-bednets"]}) + "\n"
    )
    result = cli("eval", "retrieval", "--queries", str(queries), "--json", "--k", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["overall"]["n"] == 2 and set(data["per_language"]) == {"en", "sw"}
    assert {"recall@1", "recall@3", "recall@5", "mrr"} <= data["overall"].keys()


def test_eval_retrieval_bad_file_exits_2(cli, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "x", "language": "en"}\n')
    result = cli("eval", "retrieval", "--queries", str(queries))
    assert result.exit_code == 2 and "q.jsonl:1: field 'relevant_ids'" in result.output


def test_chat_answers_until_exit(cli, tiny_file):
    cli("kb", "import", str(tiny_file))
    result = cli("chat", input="how do I make compost\nexit\n")
    assert result.exit_code == 0
    assert "Pile crop leftovers" in result.output


def test_operators_add_prints_a_key_once_and_keeps_only_its_hash(cli, settings):
    from bot.store import MessageStore, key_hash

    result = cli("operators", "add", "Wanjiru")
    assert result.exit_code == 0, result.output
    key = result.output.split("(shown only now): ")[1].split()[0]
    store = MessageStore(settings.db_path)
    assert store.operator_hashes() == [("Wanjiru", key_hash(key))]
    store.close()
    again = cli("operators", "add", "Wanjiru")
    assert again.exit_code == 2 and "an operator named 'Wanjiru' exists already" in again.output


@pytest.mark.parametrize("args, env, message", [
    (["telegram", "set-webhook", "--url", "http://plain.example.org"], {}, "Telegram needs a public https:// URL"),
    (["telegram", "set-webhook", "--url", "https://ushauri.example.org"], {"USHAURI_TELEGRAM_WEBHOOK_SECRET": "s3cret"},
     "USHAURI_TELEGRAM_BOT_TOKEN is not set"),
    (["telegram", "poll"], {}, "USHAURI_TELEGRAM_BOT_TOKEN is not set"),
])
def test_telegram_commands_explain_what_is_missing(cli, monkeypatch, args, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = cli(*args)
    assert result.exit_code == 2 and message in result.output
