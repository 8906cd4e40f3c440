"""Trusted versions of a7's `char_ngrams`, `ngram_ids` and `collate` (checks/a7_langid)."""
from __future__ import annotations

import zlib
from collections import Counter

import torch


def reference_char_ngrams(text: str, n: int) -> list[str]:
    """Run in place of the student's `char_ngrams` while their `ngram_ids` is judged."""
    text = text.lower()
    return [text[i:i + n] for i in range(len(text) - n + 1)]


def reference_ngram_ids(text: str, n: int, num_buckets: int) -> tuple[list[int], list[float]]:
    """Run in place of the student's `ngram_ids` while their `predict` is judged."""
    counts = Counter(reference_char_ngrams(text, n))
    total = sum(counts.values())
    ids = [zlib.crc32(gram.encode("utf-8")) % num_buckets for gram in counts]
    return ids, [count / total for count in counts.values()]


def reference_collate(texts: list[str], orders: tuple[int, ...] = (1, 2, 3),
                      num_buckets: int = 4096) -> dict:
    """The features the student's `LanguageDetector` and `predict` are judged on, so a
    bug in their `collate` costs collate's checks only."""
    features = {}
    for n in orders:
        ids, offsets, weights = [], [], []
        for text in texts:
            offsets.append(len(ids))
            bag_ids, bag_weights = reference_ngram_ids(text, n, num_buckets)
            ids += bag_ids
            weights += bag_weights
        features[n] = (torch.tensor(ids, dtype=torch.int64),
                       torch.tensor(offsets, dtype=torch.int64),
                       torch.tensor(weights, dtype=torch.float32))
    return features
