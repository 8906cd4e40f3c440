"""The data registry and the fetch step: verified, atomic, and clear when it fails."""
from __future__ import annotations

import collections
import hashlib
import io
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from autograder.data.fetch import FetchError, fetch_dataset
from autograder.data.manifest import (
    DATA_DIR_ENV,
    MANIFEST_PATH,
    DataError,
    data_dir,
    dataset_spec,
    require_dataset,
)

SST2_FILES = dataset_spec("sst2")["files"]


class LocalServer:
    """Canned responses by path; the last response for a path repeats."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.routes: dict[str, list[tuple[int, bytes]]] = {}
        self.hits: collections.Counter[str] = collections.Counter()

    def serve(self, path: str, *responses: tuple[int, bytes]) -> str:
        self.routes[path] = list(responses)
        return self.url + path

    def respond(self, path: str) -> tuple[int, bytes]:
        self.hits[path] += 1
        queue = self.routes.get(path, [(404, b"not found")])
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = local.respond(self.path)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    local = LocalServer(f"http://127.0.0.1:{httpd.server_port}")
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield local
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="session")
def sst2_bytes(shared_sst2_dir) -> dict[str, bytes]:
    return {f: (shared_sst2_dir / f).read_bytes() for f in SST2_FILES}


@pytest.fixture(scope="session")
def sst2_zip(sst2_bytes) -> bytes:
    return make_zip(sst2_bytes, prefix="SST-2/")


def make_zip(files: dict[str, bytes], prefix: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(prefix + name, data)
    return buffer.getvalue()


def corrupt(data: bytes) -> bytes:
    """The same bytes with one changed in the middle."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


def write_dir(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def assert_verified(folder: Path) -> None:
    for name, entry in SST2_FILES.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == entry["sha256"]


def assert_untouched(root: Path, *expected: str) -> None:
    """Only `expected` entries in root: no partial staging directory left behind."""
    assert sorted(p.name for p in root.iterdir()) == sorted(expected)


def test_fetch_from_directory(tmp_path, shared_sst2_dir):
    out = fetch_dataset("sst2", root=tmp_path, source=str(shared_sst2_dir))
    assert out == tmp_path / "sst2"
    assert_verified(out)
    assert_untouched(tmp_path, "sst2")
    assert require_dataset("sst2", root=tmp_path) == out


def test_fetch_from_local_zip(tmp_path, sst2_zip):
    archive = tmp_path / "SST-2.zip"
    archive.write_bytes(sst2_zip)
    out = fetch_dataset("sst2", root=tmp_path / "data", source=str(archive))
    assert_verified(out)
    assert_untouched(tmp_path / "data", "sst2")


def test_zip_with_files_at_its_root_is_accepted(tmp_path, sst2_bytes):
    archive = tmp_path / "flat.zip"
    archive.write_bytes(make_zip(sst2_bytes, prefix=""))
    assert_verified(fetch_dataset("sst2", root=tmp_path / "data", source=str(archive)))


def test_download_zip_over_http(tmp_path, server, sst2_zip):
    url = server.serve("/SST-2.zip", (200, sst2_zip))
    out = fetch_dataset("sst2", root=tmp_path, source=url)
    assert_verified(out)
    assert_untouched(tmp_path, "sst2")


def test_server_error_is_retried(tmp_path, server, sst2_zip):
    url = server.serve("/SST-2.zip", (503, b"busy"), (200, sst2_zip))
    assert_verified(fetch_dataset("sst2", root=tmp_path, source=url))
    assert server.hits["/SST-2.zip"] == 2


def test_corrupt_download_names_file_and_both_checksums(tmp_path, server, sst2_bytes):
    bad_dev = corrupt(sst2_bytes["dev.tsv"])
    archive = make_zip({**sst2_bytes, "dev.tsv": bad_dev}, prefix="SST-2/")
    url = server.serve("/SST-2.zip", (200, archive))
    with pytest.raises(FetchError) as raised:
        fetch_dataset("sst2", root=tmp_path, source=url)
    message = str(raised.value)
    assert "dev.tsv" in message and url in message
    assert hashlib.sha256(bad_dev).hexdigest() in message
    assert SST2_FILES["dev.tsv"]["sha256"] in message
    assert "Nothing was written" in message
    assert_untouched(tmp_path)


def test_404_fails_at_once_and_leaves_nothing(tmp_path, server):
    url = server.url + "/missing.zip"
    with pytest.raises(FetchError, match=r"HTTP 404.*Nothing was written"):
        fetch_dataset("sst2", root=tmp_path, source=url)
    assert server.hits["/missing.zip"] == 1
    assert_untouched(tmp_path)


def test_body_that_is_not_a_zip_fails_clearly(tmp_path, server):
    url = server.serve("/SST-2.zip", (200, b"<html>Please log in</html>"))
    with pytest.raises(FetchError, match=r"is not a zip archive \(it begins b'<html>"):
        fetch_dataset("sst2", root=tmp_path, source=url)
    assert_untouched(tmp_path)


def test_zip_missing_a_member_names_it(tmp_path, sst2_bytes):
    archive = tmp_path / "partial.zip"
    archive.write_bytes(make_zip({"train.tsv": sst2_bytes["train.tsv"]}, prefix="SST-2/"))
    with pytest.raises(FetchError, match=r"has no SST-2/dev\.tsv"):
        fetch_dataset("sst2", root=tmp_path / "data", source=str(archive))
    assert_untouched(tmp_path / "data")


def test_directory_missing_a_file_names_it(tmp_path, sst2_bytes):
    source = write_dir(tmp_path / "src", {"train.tsv": sst2_bytes["train.tsv"]})
    with pytest.raises(FetchError, match=r"has no dev\.tsv"):
        fetch_dataset("sst2", root=tmp_path / "data", source=str(source))
    assert_untouched(tmp_path / "data")


def test_good_copy_survives_a_failed_refetch(tmp_path, shared_sst2_dir, sst2_bytes):
    root = tmp_path / "data"
    fetch_dataset("sst2", root=root, source=str(shared_sst2_dir))
    bad = write_dir(tmp_path / "bad", {**sst2_bytes, "dev.tsv": corrupt(sst2_bytes["dev.tsv"])})
    with pytest.raises(FetchError, match=r"dev\.tsv from .* has sha256"):
        fetch_dataset("sst2", root=root, source=str(bad))
    assert_verified(root / "sst2")
    assert_untouched(root, "sst2")


def test_verified_copy_is_not_fetched_again(tmp_path, shared_sst2_dir, monkeypatch):
    fetch_dataset("sst2", root=tmp_path, source=str(shared_sst2_dir))

    def no_network(*args, **kwargs):
        raise AssertionError("fetch_dataset went to the network for a verified copy")

    monkeypatch.setattr(requests.Session, "get", no_network)
    assert fetch_dataset("sst2", root=tmp_path) == tmp_path / "sst2"


def test_dataset_without_url_asks_for_a_local_copy(tmp_path):
    with pytest.raises(FetchError, match=r"no download address.*--from DIR"):
        fetch_dataset("langid", root=tmp_path)


def test_missing_source_path_fails_clearly(tmp_path):
    with pytest.raises(FetchError, match=r"neither a directory, a file nor an http\(s\) URL"):
        fetch_dataset("sst2", root=tmp_path, source=str(tmp_path / "nowhere"))


def test_require_dataset_says_how_to_fetch(tmp_path):
    with pytest.raises(DataError) as raised:
        require_dataset("sst2", root=tmp_path)
    message = str(raised.value)
    assert f"SST-2 (GLUE) is not in {tmp_path / 'sst2'} (missing train.tsv, dev.tsv)" in message
    assert "`autograder data fetch sst2`" in message
    assert DATA_DIR_ENV in message


def test_unknown_dataset_lists_known_names(tmp_path):
    with pytest.raises(DataError, match=r"No dataset named 'imdb'.*known datasets: langid, sst2"):
        dataset_spec("imdb")
    with pytest.raises(DataError, match=r"'imdb'"):
        fetch_dataset("imdb", root=tmp_path)


def test_data_dir_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert data_dir() == tmp_path
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "sst2"))):
        require_dataset("sst2")
    monkeypatch.delenv(DATA_DIR_ENV)
    assert data_dir() == MANIFEST_PATH.parent
