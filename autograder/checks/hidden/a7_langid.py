"""a7's hidden checks: short texts, collate's dtypes, predict's codes (see checks/hidden)."""
from __future__ import annotations

from types import ModuleType

import torch
from torch import nn

from autograder.checks.a7_langid import (
    COLLATE_BUCKETS,
    COLLATE_TEXTS,
    ORDERS,
    _student_features,
    _student_ngrams,
    check,
)
from autograder.checks.support import describe, fail, require, trusted
from autograder.checks.trusted.langid import (
    reference_char_ngrams,
    reference_collate,
    reference_ngram_ids,
)


@check(points=1, hidden=True)
def char_ngrams_shorter_than_n_is_empty(submission: ModuleType) -> None:
    """char_ngrams of a text shorter than n is the empty list

    `("ab", 3)`, `("", 1)` and `("x", 2)` give `[]` (padding or returning the text is named).
    """
    for text, n in (("ab", 3), ("", 1), ("x", 2)):
        got = _student_ngrams(submission, text, n)
        if got:
            fail(f"`char_ngrams({text!r}, {n})` returned {got}; a text shorter than n has no "
                 "n-gram, so expected []. Do not pad it or return the text itself.")


@check(points=1, hidden=True)
def collate_dtypes(submission: ModuleType) -> None:
    """collate returns int64 ids and offsets and float32 per_sample_weights

    The dtype and dimension of every tensor for orders 1-3.
    """
    features = _student_features(submission, COLLATE_TEXTS[:4], ORDERS, COLLATE_BUCKETS)
    for n, (ids, offsets, weights) in features.items():
        for name, tensor, dtype in (("ids", ids, torch.int64), ("offsets", offsets, torch.int64),
                                    ("per_sample_weights", weights, torch.float32)):
            if tensor.dtype != dtype or tensor.dim() != 1:
                fail(f"order {n}'s {name} is {describe(tensor)}; expected a 1-d {dtype} "
                     "tensor (build it with `torch.tensor(values, dtype=…)`).")


PREDICT_LANGUAGES = ["ukr", "eng", "ell"]
PREDICT_TEXTS = ["a", "ab", "abc", "abcd", "b", "xyz"]


class RiggedDetector(nn.Module):
    """Answers language (number of distinct characters - 1) % 3, from the order-1 bag
    sizes, so the grader knows what predict must say."""

    def __init__(self):
        super().__init__()
        self.orders, self.num_buckets = ORDERS, 4099
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, features: dict) -> torch.Tensor:
        ids, offsets, _ = features[1]
        ends = torch.cat([offsets[1:], torch.tensor([len(ids)])])
        classes = (ends - offsets - 1) % len(PREDICT_LANGUAGES)
        return nn.functional.one_hot(classes, len(PREDICT_LANGUAGES)).float() * self.scale


@check(points=1, hidden=True)
def predict_returns_language_codes(submission: ModuleType) -> None:
    """predict returns the code of the highest-scoring language for each text, in order

    A rigged model whose top logit the grader knows, with languages in an unsorted order;
    indices instead of codes and a lookup in `sorted(languages)` are named.
    """
    predict = require(submission, "predict")
    expected = [PREDICT_LANGUAGES[(len(set(t)) - 1) % 3] for t in PREDICT_TEXTS]
    with trusted(submission, collate=reference_collate, ngram_ids=reference_ngram_ids,
                 char_ngrams=reference_char_ngrams):
        got = predict(RiggedDetector(), list(PREDICT_LANGUAGES), list(PREDICT_TEXTS))
    if isinstance(got, torch.Tensor) or not isinstance(got, (list, tuple)):
        fail(f"`predict` returned {describe(got)}; expected a list of language codes such as "
             f"{expected[:3]}.")
    got = list(got)
    if got == expected:
        return
    hint = ""
    if all(isinstance(g, int) or isinstance(g, torch.Tensor) for g in got):
        hint = " These are output indices: map each through `languages`."
    elif got == [sorted(PREDICT_LANGUAGES)[PREDICT_LANGUAGES.index(e)] for e in expected]:
        hint = (" The index was looked up in a sorted list; `languages` is already in the "
                "model's output order.")
    fail(f"with languages {PREDICT_LANGUAGES} and a model whose top logits are at "
         f"{[PREDICT_LANGUAGES.index(e) for e in expected]}, `predict` returned {got[:6]}; "
         f"expected {expected}.{hint}")


