"""The channel that carries verdicts from the grading child to the parent.

Each record is a JSON line signed with a key the parent hands over on a pipe
that the child reads, and closes, before any student code is loaded. The parent
keeps only correctly signed records, so lines a submission appends to the file
(a forged "passed", a broken line) are ignored and counted, never trusted.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

KEY_BYTES = 32
LOADING = "loading"  # the name in a "started" record while top-level code runs


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def key_pipe(key: bytes) -> int:
    """The read end of a pipe that holds `key`, for the child to inherit."""
    read_end, write_end = os.pipe()
    os.write(write_end, key)
    os.close(write_end)
    return read_end


def read_key(fd: int) -> bytes:
    key = os.read(fd, KEY_BYTES)
    os.close(fd)
    return key


def _mac(key: bytes, record: dict) -> str:
    return hmac.new(key, json.dumps(record, sort_keys=True).encode(), hashlib.sha256).hexdigest()


def append(path: Path, key: bytes, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"record": record, "mac": _mac(key, record)}) + "\n")


def read(path: Path, key: bytes) -> tuple[list[dict], int]:
    """(correctly signed records in order, number of lines rejected)."""
    if not path.is_file():
        return [], 0
    records, rejected = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
            record, mac = entry["record"], entry["mac"]
            valid = isinstance(record, dict) and hmac.compare_digest(_mac(key, record), mac)
        except (ValueError, KeyError, TypeError):
            valid = False
        if valid:
            records.append(record)
        elif line.strip():
            rejected += 1
    return records, rejected
