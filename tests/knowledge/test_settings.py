import pytest

from knowledge.errors import BadInputError
from knowledge.settings import Settings, load_settings


def test_env_prefix_and_language_list(monkeypatch, tmp_path):
    monkeypatch.setenv("USHAURI_DATA_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("USHAURI_LANGUAGES", "sw, EN")
    monkeypatch.setenv("USHAURI_DEFAULT_LANGUAGE", "sw")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "x"
    assert settings.languages == ["sw", "en"]
    assert settings.db_path == tmp_path / "x" / "ushauri.db"


def test_override_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("USHAURI_DATA_DIR", str(tmp_path / "env"))
    assert load_settings(data_dir=tmp_path / "flag").data_dir == tmp_path / "flag"


def test_default_language_must_be_configured(monkeypatch):
    monkeypatch.setenv("USHAURI_LANGUAGES", "en,sw")
    monkeypatch.setenv("USHAURI_DEFAULT_LANGUAGE", "fr")
    with pytest.raises(BadInputError, match="default language 'fr' is not configured; configured: en, sw"):
        load_settings()


def test_bad_language_code_is_named(monkeypatch):
    monkeypatch.setenv("USHAURI_LANGUAGES", "en,swahili")
    with pytest.raises(BadInputError, match="swahili"):
        load_settings()


def test_models_dir_defaults_inside_the_data_folder(tmp_path):
    assert Settings(data_dir=tmp_path, model_cache_dir=None).models_dir == tmp_path / "models"
