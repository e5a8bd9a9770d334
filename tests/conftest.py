"""Shared fixtures: the embedding model loads once per test session; every test gets its own data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from knowledge.base import KnowledgeBase  # noqa: E402
from knowledge.embedder import Embedder  # noqa: E402
from knowledge.settings import DEFAULT_EMBEDDING_MODEL, PACKAGE_DATA, Settings  # noqa: E402

DATA = Path(__file__).parent / "knowledge" / "data"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """One folder for unpacked models, shared by the whole session (and by CLI runs through the env)."""
    folder = tmp_path_factory.mktemp("models")
    os.environ["USHAURI_MODEL_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def embedder(models_dir) -> Embedder:
    return Embedder(DEFAULT_EMBEDDING_MODEL, models_dir, device="cpu")


@pytest.fixture
def settings(tmp_path, models_dir, monkeypatch) -> Settings:
    monkeypatch.setenv("USHAURI_DATA_DIR", str(tmp_path / "var"))
    return Settings(data_dir=tmp_path / "var", model_cache_dir=models_dir, device="cpu")


@pytest.fixture
def kb(settings, embedder) -> KnowledgeBase:
    base = KnowledgeBase(settings, embedder=embedder)
    yield base
    base.close()


@pytest.fixture
def tiny_file() -> Path:
    return DATA / "tiny.jsonl"


@pytest.fixture
def tiny_kb(kb, tiny_file) -> KnowledgeBase:
    kb.import_files([tiny_file])
    kb.reindex()
    return kb


@pytest.fixture(scope="session")
def starter_settings(tmp_path_factory, models_dir, embedder) -> Settings:
    """A data folder with the starter knowledge base imported and indexed, built once per session.
    Tests read it; engine tests keep their conversation state elsewhere (Advisor(state_db=...))."""
    folder = tmp_path_factory.mktemp("starter") / "var"
    settings = Settings(data_dir=folder, model_cache_dir=models_dir, device="cpu")
    base = KnowledgeBase(settings, embedder=embedder)
    base.import_files([PACKAGE_DATA / "starter"])
    base.reindex()
    base.close()
    return settings


@pytest.fixture(scope="session")
def starter_kb(starter_settings, embedder) -> KnowledgeBase:
    base = KnowledgeBase(starter_settings, embedder=embedder)
    yield base
    base.close()


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory, models_dir) -> Path:
    """The classifier trained with the defaults, as `make run` trains it (minutes): one per session."""
    from typer.testing import CliRunner

    from bot.cli import app

    data_dir = tmp_path_factory.mktemp("trained") / "var"
    result = CliRunner().invoke(app, ["train", "--device", "cpu", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return data_dir
