"""The langid dataset: fetched from a verified copy, read, and built from its public
source with the documented algorithm (on small inputs made here, and on the verified
split itself, which the build must reproduce byte for byte)."""
from __future__ import annotations

import hashlib
import re
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from autograder.data.fetch import FetchError, fetch_dataset, file_sha256
from autograder.data.langid import build_split, dedup_key, read_split
from autograder.data.manifest import DataError, dataset_spec

SPEC = dataset_spec("langid")
SMALL = {"langs": "eng,fra", "cap": 4, "split": "50,25,25", "seed": "test-seed",
         "min_letters": 3, "max_chars": 40}


def write_pairs(root: Path, pairs: dict[str, list[tuple[str, str, str, str]]]) -> Path:
    """Pair files as the Tatoeba Challenge lays them out: data/test/<pair>/test.txt."""
    for pair, lines in pairs.items():
        folder = root / "data" / "test" / pair
        folder.mkdir(parents=True)
        (folder / "test.txt").write_text("".join("\t".join(line) + "\n" for line in lines),
                                         encoding="utf-8")
    return root


def rows(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "lang\ttext"
    return [tuple(line.split("\t", 1)) for line in lines[1:]]


def digest(*parts: str) -> str:
    return hashlib.sha256("\t".join(parts).encode()).hexdigest()


ENGLISH = ["One two three.", "The cat sleeps.", "Where is it?", "I like tea.", "Good night!",
           "See you soon."]
FRENCH = ["Bonne nuit !", "Je suis là.", "Il pleut fort.", "On y va ?", "Merci bien."]


@pytest.fixture
def small_source(tmp_path: Path) -> Path:
    english = [("eng", "fra", e, f) for e, f in zip(ENGLISH, FRENCH, strict=False)]
    extra = [
        ("eng", "deu", "one  two three.", "x"),          # dedup key of "One two three."
        ("eng", "deu", "Cafe\u0301   time", "Kaffee"),    # NFC and whitespace
        ("eng", "deu", "Ok!", "Gut"),                     # 2 letters: too short
        ("eng", "deu", "x" * 41, "lang"),                 # over max_chars
        ("eng", "deu", "Taxi", "Taxi"),                   # key also French below: dropped
        ("eng_Latn", "fra", "Spelled label", "Taxi"),     # label not exactly eng; fra side kept
        ("eng", "deu", ENGLISH[5], "Bis bald"),           # exact duplicate
    ]
    return write_pairs(tmp_path / "source", {"eng-fra": english, "eng-deu": extra[:5] + extra[6:],
                                             "eng_Latn-fra": [extra[5]]})


def test_build_applies_every_documented_step(small_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_split(small_source, out, SMALL)
    splits = {s: rows(out / f"{s}.tsv") for s in ("train", "dev", "test")}
    assert [len(r) for r in splits.values()] == [4, 2, 2]  # 2 languages x (2, 1, 1)
    texts = [text for split in splits.values() for _, text in split]
    assert len(texts) == len(set(texts)) == 8
    for split, split_rows in splits.items():
        assert Counter(lang for lang, _ in split_rows) == {"eng": len(split_rows) // 2,
                                                          "fra": len(split_rows) // 2}
        keys = [digest(SMALL["seed"], split, *row) for row in split_rows]
        assert keys == sorted(keys)
    for text in texts:
        assert text == " ".join(unicodedata.normalize("NFC", text).split())
        assert 3 <= sum(c.isalpha() for c in text) and len(text) <= SMALL["max_chars"]
    assert "Taxi" not in texts and "Ok!" not in texts and "Spelled label" not in texts


def test_build_keeps_the_first_cap_of_each_language_in_hash_order(small_source: Path,
                                                                  tmp_path: Path) -> None:
    build_split(small_source, tmp_path / "out", SMALL)
    english = [t for s in ("train", "dev", "test")
               for lang, t in rows(tmp_path / "out" / f"{s}.tsv") if lang == "eng"]
    candidates = {dedup_key(t): t for t in ENGLISH + ["Café time"]}
    candidates[dedup_key("One two three.")] = min("One two three.", "one two three.")
    ranked = sorted(candidates.values(), key=lambda t: digest(SMALL["seed"], "eng", t))
    assert sorted(english) == sorted(ranked[:SMALL["cap"]])
    train = [t for lang, t in rows(tmp_path / "out" / "train.tsv") if lang == "eng"]
    assert sorted(train) == sorted(ranked[:2])


def test_dedup_key_ignores_case_and_punctuation() -> None:
    assert dedup_key("One, two  THREE!") == dedup_key("one two three") == "onetwothree"
    assert dedup_key("Straße") == dedup_key("STRASSE")


def test_build_from_a_zip_of_the_repository(small_source: Path, tmp_path: Path) -> None:
    archive = tmp_path / "Tatoeba-Challenge.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in small_source.rglob("test.txt"):
            zf.write(path, "Tatoeba-Challenge-abc/" + path.relative_to(small_source).as_posix())
    build_split(archive, tmp_path / "from_zip", SMALL)
    build_split(small_source, tmp_path / "from_dir", SMALL)
    for split in ("train", "dev", "test"):
        assert (tmp_path / "from_zip" / f"{split}.tsv").read_bytes() == \
            (tmp_path / "from_dir" / f"{split}.tsv").read_bytes()


def test_too_few_sentences_is_named(small_source: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds \d+ usable eng sentences; the split needs 40"):
        build_split(small_source, tmp_path / "out", {**SMALL, "cap": 40})


def test_a_source_without_pair_files_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no `<lang1>-<lang2>/test.txt` pair files"):
        build_split(tmp_path / "empty", tmp_path / "out", SMALL)


def test_fetch_that_cannot_build_leaves_nothing(small_source: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    with pytest.raises(FetchError, match="Could not build .* Nothing was written"):
        fetch_dataset("langid", root=root, source=str(small_source))
    assert not (root / "langid").exists()


def test_fetch_without_a_source_names_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=re.escape(
            f"autograder data fetch langid --from {SPEC['build']['url']}")):
        fetch_dataset("langid", root=tmp_path)


def test_manifest_pins_the_build_source() -> None:
    build = SPEC["build"]
    assert re.fullmatch(r"https://github\.com/Helsinki-NLP/Tatoeba-Challenge/archive/"
                        r"[0-9a-f]{40}\.zip", build["url"])
    assert build["builder"] == "autograder.data.langid:build_split"
    assert build["params"]["seed"] == "langid-kit-v1"


@pytest.mark.langid
def test_fetch_from_the_verified_copy(shared_langid_dir: Path, tmp_path: Path) -> None:
    folder = fetch_dataset("langid", root=tmp_path, source=str(shared_langid_dir))
    for name, entry in SPEC["files"].items():
        assert file_sha256(folder / name) == entry["sha256"]
    train, test = read_split("train", tmp_path), read_split("test", tmp_path)
    assert len(train.texts) == SPEC["files"]["train.tsv"]["rows"]
    languages = SPEC["build"]["params"]["langs"].split(",")
    assert Counter(train.langs) == {lang: 8000 for lang in languages}
    sample = test.per_language(10)
    assert Counter(sample.langs) == {lang: 10 for lang in set(test.langs)}
    first_eng = [t for t, lang in zip(test.texts, test.langs, strict=True) if lang == "eng"]
    assert [t for t, lang in zip(sample.texts, sample.langs, strict=True)
            if lang == "eng"] == first_eng[:10]


@pytest.mark.langid
def test_build_reproduces_the_verified_split(shared_langid_dir: Path, tmp_path: Path) -> None:
    """Every verified sentence as one side of a pair file (the other side in a language
    outside the 12): fetching from a zip of them must build, verify and install the
    exact files the manifest's checksums describe."""
    by_lang: dict[str, list[tuple[str, str, str, str]]] = {}
    for split in ("train", "dev", "test"):
        for lang, text in rows(shared_langid_dir / f"{split}.tsv"):
            by_lang.setdefault(f"{lang}-zzz", []).append((lang, "zzz", text, "filler"))
    source = write_pairs(tmp_path / "source", by_lang)
    archive = tmp_path / "source.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in source.rglob("test.txt"):
            zf.write(path, path.relative_to(source).as_posix())
    folder = fetch_dataset("langid", root=tmp_path / "data", source=str(archive))
    for name, entry in SPEC["files"].items():
        assert file_sha256(folder / name) == entry["sha256"], name


def test_reading_a_file_without_the_header_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "langid"
    folder.mkdir()
    for name in SPEC["files"]:
        (folder / name).write_text("eng\tHello\n", encoding="utf-8")
    with pytest.raises(DataError, match="does not start with the header"):
        read_split("dev", tmp_path)
