import re
from pathlib import Path

from knowledge.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "ushauri.env.example"


def test_env_example_lists_every_setting():
    named = set(re.findall(r"^#?\s*USHAURI_([A-Z_]+)=", EXAMPLE.read_text(), re.M))
    assert named == {name.upper() for name in Settings.model_fields}
