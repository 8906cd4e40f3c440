"""SST-2 as bag-of-words batches: `{"X": FloatTensor (N, V), "y": LongTensor (N,)}`.

The vocabulary is scikit-learn's `CountVectorizer` fit on the training sentences,
as in the lectures. The sparse matrices are cached on disk, keyed by the data's
checksums and the vectorizer settings, and batches are sliced from the sparse
matrix and densified a batch at a time (never row by row).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import CountVectorizer
from torch.utils.data import DataLoader

from autograder.data.manifest import data_dir, dataset_spec, require_dataset

VECTORIZER_SETTINGS: dict = {}  # CountVectorizer defaults, as in the lecture


@dataclass(frozen=True)
class SST2Features:
    X_train: sp.csr_matrix
    y_train: np.ndarray
    X_dev: sp.csr_matrix
    y_dev: np.ndarray
    vocabulary: tuple[str, ...]

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)


def load_sst2_features(root: Path | None = None) -> SST2Features:
    """The vectorized train and dev splits, from the cache when it is there."""
    root = root or data_dir()
    folder = require_dataset("sst2", root)
    cache = _cache_path(root)
    if cache.is_file():
        return _read_cache(cache)
    features = _vectorize(folder)
    _write_cache(cache, features)
    return features


def prepare(root: Path | None = None) -> None:
    """Build the feature cache before grading starts, when SST-2 is there and the
    cache is not, so that grading children only ever read it."""
    root = root or data_dir()
    if not _cache_path(root).is_file() and (root / "sst2").is_dir():
        load_sst2_features(root)


def sst2_loaders(batch_size: int = 64, seed: int = 0, root: Path | None = None
                 ) -> tuple[DataLoader, DataLoader, int]:
    """(train loader shuffled with `seed`, dev loader in file order, vocabulary size)."""
    features = load_sst2_features(root)
    train = batch_loader(features.X_train, features.y_train, batch_size, shuffle=True, seed=seed)
    dev = batch_loader(features.X_dev, features.y_dev, batch_size, shuffle=False)
    return train, dev, features.vocab_size


def batch_loader(X: sp.csr_matrix, y: np.ndarray, batch_size: int, *, shuffle: bool,
                 seed: int = 0) -> DataLoader:
    """A DataLoader over row indices whose batches are dense slices of `X`."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(range(X.shape[0]), batch_size=batch_size, shuffle=shuffle,
                      generator=generator, collate_fn=CsrBatches(X, y))


class CsrBatches:
    """Collate a list of row indices into one `{"X", "y"}` batch."""

    def __init__(self, X: sp.csr_matrix, y: np.ndarray):
        self.X = X.astype(np.float32).tocsr()
        self.y = np.asarray(y, dtype=np.int64)

    def __call__(self, rows: list[int]) -> dict[str, torch.Tensor]:
        return {"X": torch.from_numpy(self.X[rows].toarray()),
                "y": torch.from_numpy(self.y[rows])}


def _cache_path(root: Path) -> Path:
    return root / "cache" / f"sst2-bow-{_cache_key()}.npz"


def _cache_key() -> str:
    files = dataset_spec("sst2")["files"]
    stamp = json.dumps({"sha256": {n: f["sha256"] for n, f in sorted(files.items())},
                        "vectorizer": VECTORIZER_SETTINGS}, sort_keys=True)
    return hashlib.sha256(stamp.encode()).hexdigest()[:16]


def _read_split(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", quoting=3, keep_default_na=False,
                       dtype={"sentence": str, "label": np.int64})


def _vectorize(folder: Path) -> SST2Features:
    train, dev = _read_split(folder / "train.tsv"), _read_split(folder / "dev.tsv")
    vectorizer = CountVectorizer(**VECTORIZER_SETTINGS)
    X_train = vectorizer.fit_transform(train["sentence"]).astype(np.float32).tocsr()
    X_dev = vectorizer.transform(dev["sentence"]).astype(np.float32).tocsr()
    return SST2Features(X_train, train["label"].to_numpy(), X_dev, dev["label"].to_numpy(),
                        tuple(vectorizer.get_feature_names_out()))


def _write_cache(path: Path, features: SST2Features) -> None:
    """Write atomically, so two graders starting at once never read half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"y_train": features.y_train, "y_dev": features.y_dev,
              "vocabulary": np.array(features.vocabulary)}
    for split in ("train", "dev"):
        matrix: sp.csr_matrix = getattr(features, f"X_{split}")
        arrays.update({f"{split}_data": matrix.data, f"{split}_indices": matrix.indices,
                       f"{split}_indptr": matrix.indptr,
                       f"{split}_shape": np.array(matrix.shape)})
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.partial")
    with os.fdopen(handle, "wb") as out:
        np.savez(out, **arrays)
    os.chmod(temporary, 0o644)  # read by sandboxed grading children, another user
    os.replace(temporary, path)


def _read_cache(path: Path) -> SST2Features:
    with np.load(path) as arrays:
        def matrix(split: str) -> sp.csr_matrix:
            return sp.csr_matrix((arrays[f"{split}_data"], arrays[f"{split}_indices"],
                                  arrays[f"{split}_indptr"]),
                                 shape=tuple(arrays[f"{split}_shape"]))
        return SST2Features(matrix("train"), arrays["y_train"], matrix("dev"), arrays["y_dev"],
                            tuple(arrays["vocabulary"].tolist()))
