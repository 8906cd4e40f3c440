"""Fetch a dataset into the data directory: download or copy, verify, install.

Files are staged beside the dataset and checked against the manifest's sha256
before any of them is moved into `root/NAME`, so a failed or corrupt fetch never
leaves half a dataset behind or damages a good copy.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from urllib3.util import Retry

from autograder.data.manifest import DataError, data_dir, dataset_spec, fetch_hint

RETRIES = 3
BACKOFF_FACTOR = 0.5
RETRY_STATUSES = (500, 502, 503, 504)
TIMEOUT_S = (10, 60)  # connect, read (between bytes)
CHUNK_BYTES = 1 << 16


class FetchError(DataError):
    """A fetch failed; the message says what was found and what to do."""


def fetch_dataset(name: str, *, root: Path | None = None, source: str | None = None) -> Path:
    """Put a verified copy of `name` in `root/name` and return that directory.

    `source` is a directory holding the files, a zip, or an http(s) URL of a zip;
    without one the manifest's URL is used, unless a verified copy is already there.
    """
    spec = dataset_spec(name)
    root = data_dir() if root is None else Path(root)
    target = root / name
    if source is None:
        if holds_verified_copy(target, spec):
            return target
        source = spec.get("url")
        if source is None:
            raise _no_download_error(name, spec)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}-partial-"))
    try:
        _stage(str(source), spec, staging)
        verify_copy(staging, spec, str(source))
        _install(staging, target, spec)
    except FetchError as exc:
        raise FetchError(f"{exc} Nothing was written to {target}.") from exc.__cause__
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def holds_verified_copy(folder: Path, spec: dict) -> bool:
    return all(
        (folder / f).is_file() and file_sha256(folder / f) == entry["sha256"]
        for f, entry in spec["files"].items()
    )


def _no_download_error(name: str, spec: dict) -> FetchError:
    build = ("" if "build" not in spec else
             f" With internet, build it from its public source: `autograder data fetch {name} "
             f"--from {spec['build']['url']}`.")
    return FetchError(
        f"{spec['title']} has no download address in the manifest; a local copy "
        f"holding {', '.join(spec['files'])} is needed. Fetch it with {fetch_hint(name)}."
        + build
    )


def _stage(source: str, spec: dict, staging: Path) -> None:
    """Put the dataset's files, unverified, in `staging`."""
    if source.startswith(("http://", "https://")):
        archive = staging / ".download.zip"
        _download(source, archive)
        _unpack(archive, source, spec, staging)
        return
    path = Path(source).expanduser()
    if path.exists():
        _unpack(path, source, spec, staging)
    else:
        raise FetchError(
            f"{source} is neither a directory, a file nor an http(s) URL. Give a "
            f"directory or zip holding {', '.join(spec['files'])}, or the URL of a zip."
        )


def _unpack(path: Path, origin: str, spec: dict, staging: Path) -> None:
    """Copy the dataset's files out of a folder or zip; a dataset with a `build`
    step is built from any other source (the public data it is made from)."""
    if "build" in spec and not _holds_files(path, spec):
        _build(path, origin, spec, staging)
    elif path.is_dir():
        _copy_from_dir(path, spec, staging)
    else:
        _extract(path, origin, spec, staging)


def _holds_files(path: Path, spec: dict) -> bool:
    if path.is_dir():
        return all((path / f).is_file() for f in spec["files"])
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        members = set(zf.namelist())
    prefix = spec.get("archive_prefix", "")
    return all(prefix + f in members or f in members for f in spec["files"])


def _build(path: Path, origin: str, spec: dict, staging: Path) -> None:
    """Run the manifest's builder (`module:function`) on the source; the checksums
    are verified afterwards as for any other fetch."""
    build = spec["build"]
    module, _, function = build["builder"].partition(":")
    builder = getattr(importlib.import_module(module), function)
    try:
        builder(path, staging, build["params"])
    except DataError as exc:
        raise FetchError(f"Could not build {spec['title']} from {origin}: {exc}") from exc


def _session() -> requests.Session:
    """A session that retries dropped connections and 5xx, but not 4xx."""
    retry = Retry(
        total=RETRIES,
        backoff_factor=BACKOFF_FACTOR,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=("GET",),
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _progress() -> Progress:
    """A byte progress bar, silent when stderr is not a terminal (CI, tests)."""
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def _download(url: str, dest: Path) -> None:
    try:
        with _session() as session, session.get(url, stream=True, timeout=TIMEOUT_S) as response:
            if not response.ok:
                raise FetchError(
                    f"{url} answered HTTP {response.status_code} {response.reason}; "
                    "expected a zip archive. Check the address, or give a local copy "
                    "with --from DIR."
                )
            length = response.headers.get("Content-Length", "")
            with _progress() as progress, dest.open("wb") as out:
                task = progress.add_task(
                    url.rsplit("/", 1)[-1], total=int(length) if length.isdigit() else None
                )
                for chunk in response.iter_content(CHUNK_BYTES):
                    out.write(chunk)
                    progress.advance(task, len(chunk))
    except requests.RequestException as exc:
        raise FetchError(
            f"Could not download {url}: {exc}. Check the address and your connection, "
            "or give a local copy with --from DIR."
        ) from exc


def _extract(archive: Path, origin: str, spec: dict, staging: Path) -> None:
    """Copy each file out of the zip, found under `archive_prefix` or at its root."""
    if not zipfile.is_zipfile(archive):
        with archive.open("rb") as f:
            head = f.read(40)
        raise FetchError(
            f"{origin} is not a zip archive (it begins {head!r}); expected a zip "
            f"holding {spec['title']}'s {', '.join(spec['files'])}."
        )
    prefix = spec.get("archive_prefix", "")
    try:
        with zipfile.ZipFile(archive) as zf:
            members = set(zf.namelist())
            for fname in spec["files"]:
                member = next((m for m in (prefix + fname, fname) if m in members), None)
                if member is None:
                    raise FetchError(
                        f"{origin} has no {prefix + fname} (nor {fname} at its root); "
                        f"it holds {', '.join(sorted(members)[:5]) or 'nothing'}. "
                        f"Expected {spec['title']}'s archive."
                    )
                with zf.open(member) as src, (staging / fname).open("wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK_BYTES)
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{origin} is a damaged zip archive ({exc}).") from exc


def _copy_from_dir(folder: Path, spec: dict, staging: Path) -> None:
    missing = [f for f in spec["files"] if not (folder / f).is_file()]
    if missing:
        raise FetchError(
            f"{folder} has no {', '.join(missing)}; expected {spec['title']}'s "
            f"{', '.join(spec['files'])} there."
        )
    for fname in spec["files"]:
        shutil.copyfile(folder / fname, staging / fname)


def verify_copy(staging: Path, spec: dict, origin: str) -> None:
    """Raise FetchError naming the first file whose sha256 is not the manifest's."""
    for fname, entry in spec["files"].items():
        actual = file_sha256(staging / fname)
        if actual != entry["sha256"]:
            raise FetchError(
                f"{fname} from {origin} has sha256 {actual} but the manifest expects "
                f"{entry['sha256']}: the copy is corrupt or is not {spec['title']}."
            )


def _install(staging: Path, target: Path, spec: dict) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for fname in spec["files"]:
        os.replace(staging / fname, target / fname)
