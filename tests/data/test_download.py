"""Downloads against a local HTTP server on 127.0.0.1 that honours Range requests and can cut a
connection part-way: verified files, resume after a cut, checksum mismatch, network errors."""

from __future__ import annotations

import gzip
import hashlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from counterfeit.data import download, load_dataset
from counterfeit.data.download import part_path
from counterfeit.errors import ConfigError, DataError

NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@dataclass
class Mirror:
    base_url: str
    files: dict[str, bytes]
    checksums: dict[str, str]
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    cut_after: dict[str, int] = field(default_factory=dict)  # file name -> bytes sent before the cut
    ignore_range: bool = False


def _handler(mirror: Mirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.rsplit("/", 1)[-1]
            mirror.requests.append((name, self.headers.get("Range")))
            if name not in mirror.files:
                self.send_error(404)
                return
            body, start = mirror.files[name], 0
            requested = self.headers.get("Range")
            if requested and not mirror.ignore_range:
                start = int(requested.removeprefix("bytes=").rstrip("-"))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            # A cut: the announced length is not sent, the connection closes (once per file).
            self.wfile.write(body[start : start + mirror.cut_after.pop(name, len(body))])
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def mirror(idx_bytes, digits, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    """A local mirror of tiny MNIST-like files, large enough (images ~4 kB) to be cut part-way."""
    monkeypatch.setenv("no_proxy", "*")
    images, labels = digits
    files = {name: gzip.compress(idx_bytes(images if "images" in name else labels), mtime=0) for name in NAMES}
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    mirror = Mirror(f"http://127.0.0.1:{server.server_port}/files", files,
                    {name: hashlib.md5(data).hexdigest() for name, data in files.items()})
    server.RequestHandlerClass = _handler(mirror)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield mirror
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _hidden(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(".")]


def test_downloads_verified_files(tmp_path: Path, mirror: Mirror, digits) -> None:
    dest = tmp_path / "dest" / "mnist"
    paths = download("mnist", dest, base_url=mirror.base_url, checksums=mirror.checksums)
    assert [p.name for p in paths] == list(NAMES)
    assert mirror.requests == [(name, None) for name in NAMES]
    assert _hidden(dest) == []
    dataset = load_dataset(paths[0])
    np.testing.assert_array_equal(dataset.images, digits[0])
    np.testing.assert_array_equal(dataset.labels, digits[1])


def test_the_default_folder_is_the_cache_where_data_by_name_looks(mirror: Mirror, metrics_cache: Path) -> None:
    paths = download("kmnist", base_url=mirror.base_url, checksums=mirror.checksums)
    assert {p.parent for p in paths} == {metrics_cache / "datasets" / "kmnist"}


def test_files_with_the_right_md5_are_not_fetched_again(tmp_path: Path, mirror: Mirror) -> None:
    download("mnist", tmp_path, base_url=mirror.base_url, checksums=mirror.checksums)
    (tmp_path / NAMES[1]).write_bytes(b"damaged")
    mirror.requests.clear()
    download("mnist", tmp_path, base_url=mirror.base_url, checksums=mirror.checksums)
    assert mirror.requests == [(NAMES[1], None)]
    assert (tmp_path / NAMES[1]).read_bytes() == mirror.files[NAMES[1]]


def test_a_cut_download_resumes_with_a_range_request(tmp_path: Path, mirror: Mirror, check_error) -> None:
    name = NAMES[0]
    size = len(mirror.files[name])
    mirror.cut_after[name] = 1000
    with pytest.raises(DataError) as error:
        download("mnist", tmp_path, base_url=mirror.base_url, checksums=mirror.checksums)
    check_error(error, f"{mirror.base_url}/{name}", f"connection closed after 1000 of {size} bytes",
                "run the command again to resume")
    assert not (tmp_path / name).exists()  # nothing under the real name until it is whole and verified
    assert part_path(tmp_path / name).read_bytes() == mirror.files[name][:1000]

    mirror.requests.clear()
    download("mnist", tmp_path, base_url=mirror.base_url, checksums=mirror.checksums)
    assert mirror.requests[0] == (name, "bytes=1000-")
    assert (tmp_path / name).read_bytes() == mirror.files[name]
    assert _hidden(tmp_path) == []


def test_a_server_that_ignores_range_restarts_the_file(tmp_path: Path, mirror: Mirror) -> None:
    name = NAMES[0]
    part_path(tmp_path / name).write_bytes(b"x" * 500)  # bytes that a full response replaces
    mirror.ignore_range = True
    download("mnist", tmp_path, base_url=mirror.base_url, checksums=mirror.checksums)
    assert (tmp_path / name).read_bytes() == mirror.files[name]


def test_checksum_mismatch_removes_the_bytes(tmp_path: Path, mirror: Mirror, check_error) -> None:
    wrong = {**mirror.checksums, NAMES[2]: "0" * 32}
    with pytest.raises(DataError) as error:
        download("mnist", tmp_path, base_url=mirror.base_url, checksums=wrong)
    check_error(error, f"{mirror.base_url}/{NAMES[2]}", "md5", mirror.checksums[NAMES[2]], "0" * 32)
    assert not (tmp_path / NAMES[2]).exists()
    assert _hidden(tmp_path) == []


def test_http_404(tmp_path: Path, mirror: Mirror, check_error) -> None:
    with pytest.raises(DataError) as error:
        download("mnist", tmp_path, base_url=mirror.base_url, checksums={"absent.gz": "0" * 32})
    check_error(error, f"{mirror.base_url}/absent.gz", "download failed (HTTP 404")
    assert list(tmp_path.iterdir()) == []


def test_connection_refused(tmp_path: Path, check_error) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago has no server on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(DataError) as error:
        download("mnist", tmp_path, base_url=url, checksums={"x.gz": "0" * 32}, timeout=5)
    check_error(error, f"{url}x.gz", "download failed")
    assert list(tmp_path.iterdir()) == []


def test_cli_network_error_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run([sys.executable, "-m", "counterfeit", "download", "--dataset", "fashion-mnist",
                             "--dir", str(tmp_path), "--base-url", f"http://127.0.0.1:{port}/"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "download failed" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("base_url", ["notaurl", "127.0.0.1:8765/mirror", "mirror.example.org/mnist"])
def test_a_base_url_without_a_scheme_is_named(tmp_path: Path, base_url: str, check_error) -> None:
    with pytest.raises(DataError) as error:  # urllib's own complaint is a ValueError, a traceback
        download("mnist", tmp_path / "d", base_url=base_url, checksums={"x.gz": "0" * 32})
    check_error(error, f"--base-url {base_url}: not a URL", "http://")
    assert not (tmp_path / "d").exists()


def test_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown 'cifar'"):
        download("cifar", tmp_path)
