"""Shared fixtures: the embedding model loads once per test session; every test gets its own data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from knowledge.base import KnowledgeBase  # noqa: E402
from knowledge.embedder import Embedder  # noqa: E402
from knowledge.settings import DEFAULT_EMBEDDING_MODEL, Settings  # noqa: E402

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
