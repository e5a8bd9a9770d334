"""The classifier trained as `make run` trains it (the session's `trained_dir`), measured on the starter
test split (slow: trains for minutes)."""

import json

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.model import LABELLED

pytestmark = pytest.mark.slow


def test_targets_on_the_starter_test_split(trained_dir):
    result = CliRunner().invoke(app, ["eval", "classifier", "--data", str(LABELLED / "test.jsonl"), "--json",
                                      "--data-dir", str(trained_dir)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["topic"]["macro_f1"] >= 0.90, report["topic"]["per_language"]
    assert report["urgency"]["emergency_recall"]["overall"] >= 0.97, report["urgency"]["emergency_recall"]


def test_report_prints_the_training_time_and_ece(trained_dir):
    metrics = json.loads((trained_dir / "classifier" / "metrics.json").read_text())
    assert metrics["train_seconds"] > 0
    for head in ("topic", "urgency"):
        calibration = metrics["calibration"][head]
        assert calibration["ece_after"] <= calibration["ece_before"] + 0.01
