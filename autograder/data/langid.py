"""The 12-language identification data: read the verified split, or build it.

Each split is a TSV with the header `lang<TAB>text`, one sentence per line, no
quoting (texts hold `"`), so every line is split on its first TAB. Labels are ISO
639-3 codes (eng, fra, …, ell).

`build_split` turns the Tatoeba Translation Challenge's test files (one folder per
language pair holding `test.txt`, lines `lang1<TAB>lang2<TAB>text1<TAB>text2`) into
the kit's split with the algorithm the manifest's `build` section documents, so a
machine with internet can make the same files the checksums describe.
"""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from autograder.data.manifest import DataError, require_dataset

SPLITS = ("train", "dev", "test")
HEADER = "lang\ttext\n"
_LABEL = r"[a-z]{2,3}(?:_[A-Za-z]+)?"  # eng, or a variant such as eng_Latn
_PAIR_FILE = re.compile(rf"(?:^|/){_LABEL}-{_LABEL}/test\.txt$")


@dataclass(frozen=True)
class Sentences:
    """One split: texts and their language codes, in file order."""

    texts: list[str]
    langs: list[str]

    def per_language(self, count: int) -> "Sentences":
        """The first `count` sentences of each language (the files are in hashed
        order, so this is a fixed, balanced sample)."""
        seen: dict[str, int] = defaultdict(int)
        keep = []
        for i, lang in enumerate(self.langs):
            seen[lang] += 1
            if seen[lang] <= count:
                keep.append(i)
        return Sentences([self.texts[i] for i in keep], [self.langs[i] for i in keep])


def read_split(split: str, root: Path | None = None) -> Sentences:
    """A split of the verified copy in `root/langid` (default: the data directory)."""
    if split not in SPLITS:
        raise DataError(f"langid has the splits {', '.join(SPLITS)}, not {split!r}.")
    path = require_dataset("langid", root) / f"{split}.tsv"
    texts, langs = [], []
    with path.open(encoding="utf-8", newline="\n") as lines:
        if next(lines, "") != HEADER:
            raise DataError(f"{path} does not start with the header {HEADER!r}; fetch the "
                            "data again with `autograder data fetch langid`.")
        for line in lines:
            lang, _, text = line.rstrip("\n").partition("\t")
            langs.append(lang)
            texts.append(text)
    return Sentences(texts, langs)


# --------------------------------------------------------------------- the build


def build_split(source: Path, out_dir: Path, params: dict) -> None:
    """Write train/dev/test.tsv into `out_dir` from the pair files under `source`
    (a folder or a zip): keep each side whose label is exactly one of `langs`; NFC
    and collapse whitespace; drop texts with fewer than `min_letters` letters or
    more than `max_chars` characters; deduplicate per language on the casefolded
    text without non-alphanumerics (the smallest text of a key is kept); drop keys
    found under two labels; order each language by sha256(seed, lang, text), keep
    `cap`, split by the `split` percentages; order each split's rows by
    sha256(seed, split, lang, text)."""
    langs = params["langs"].split(",")
    by_key: dict[str, dict[str, str]] = {lang: {} for lang in langs}
    for label, text in _labelled_texts(source):
        if label not in by_key:
            continue
        text = " ".join(unicodedata.normalize("NFC", text).split())
        letters = sum(c.isalpha() for c in text)
        if letters < params["min_letters"] or len(text) > params["max_chars"]:
            continue
        key = dedup_key(text)
        kept = by_key[label].get(key)
        by_key[label][key] = text if kept is None else min(kept, text)
    shared = _keys_under_two_labels(by_key)
    rows: dict[str, list[tuple[str, str]]] = {split: [] for split in SPLITS}
    for lang in langs:
        texts = sorted((t for k, t in by_key[lang].items() if k not in shared),
                       key=lambda t: _digest(params["seed"], lang, t))[: params["cap"]]
        if len(texts) < params["cap"]:
            raise DataError(f"the source holds {len(texts)} usable {lang} sentences; the "
                            f"split needs {params['cap']}. Is it the pinned source?")
        bounds = _bounds(params["cap"], params["split"])
        for split, (start, stop) in zip(SPLITS, bounds, strict=True):
            rows[split] += [(lang, t) for t in texts[start:stop]]
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, split_rows in rows.items():
        split_rows.sort(key=lambda row: _digest(params["seed"], split, *row))
        with (out_dir / f"{split}.tsv").open("w", encoding="utf-8", newline="\n") as out:
            out.write(HEADER)
            out.writelines(f"{lang}\t{text}\n" for lang, text in split_rows)


def dedup_key(text: str) -> str:
    """Two sentences with the same key count as one: case and punctuation ignored."""
    return "".join(c for c in text.casefold() if c.isalnum())


def _labelled_texts(source: Path) -> Iterator[tuple[str, str]]:
    """(label, text) for both sides of every line of every pair file."""
    for handle in _pair_files(source):
        with handle:
            for line in io.TextIOWrapper(handle, encoding="utf-8", newline="\n"):
                fields = line.rstrip("\n").split("\t")
                if len(fields) == 4:
                    yield fields[0], fields[2]
                    yield fields[1], fields[3]


def _pair_files(source: Path):
    if source.is_dir():
        files = sorted(p for p in source.rglob("test.txt")
                       if _PAIR_FILE.search(p.relative_to(source).as_posix()))
        handles = [p.open("rb") for p in files]
    elif zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        handles = [archive.open(m) for m in sorted(archive.namelist()) if _PAIR_FILE.search(m)]
    else:
        raise DataError(f"{source} is neither a folder nor a zip of the Tatoeba Challenge's "
                        "test files (`<lang1>-<lang2>/test.txt`).")
    if not handles:
        raise DataError(f"{source} holds no `<lang1>-<lang2>/test.txt` pair files; expected "
                        "the Tatoeba Challenge's data/test folder or its repository archive.")
    return handles


def _keys_under_two_labels(by_key: dict[str, dict[str, str]]) -> set[str]:
    labels: dict[str, int] = defaultdict(int)
    for keys in by_key.values():
        for key in keys:
            labels[key] += 1
    return {key for key, count in labels.items() if count > 1}


def _bounds(cap: int, split: str) -> list[tuple[int, int]]:
    """'80,10,10' of 10,000 -> [(0, 8000), (8000, 9000), (9000, 10000)]."""
    stops, total = [], 0
    for percent in map(int, split.split(",")):
        total += percent
        stops.append(cap * total // 100)
    return list(zip([0] + stops[:-1], stops, strict=True))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\t".join(parts).encode("utf-8")).hexdigest()
