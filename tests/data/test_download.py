import gzip
import hashlib
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from counterfeit.data import download_mnist, load_dataset
from counterfeit.errors import ConfigError, DataError

NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


class QuietHandler(SimpleHTTPRequestHandler):
    requested: list[str]  # set per server, so tests can see what was fetched

    def log_message(self, format, *args):
        self.requested.append(self.path)


@pytest.fixture
def mirror(tmp_path, idx_bytes, digits, monkeypatch):
    """A local mirror of tiny MNIST files: yields (base_url, checksums, requested paths)."""
    monkeypatch.setenv("no_proxy", "*")
    root = tmp_path / "mirror"
    served = root / "files"
    served.mkdir(parents=True)
    images, labels = digits
    for name in NAMES:
        array = images if "images" in name else labels
        (served / name).write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    checksums = {name: hashlib.md5((served / name).read_bytes()).hexdigest() for name in NAMES}

    handler = type("Handler", (QuietHandler,), {"requested": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/files", checksums, handler.requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _no_partial_files(directory):
    return [p.name for p in directory.iterdir() if p.name.startswith(".")] == []


def test_downloads_verified_files(tmp_path, mirror, digits):
    base_url, checksums, requested = mirror
    dest = tmp_path / "dest" / "mnist"

    paths = download_mnist(dest, base_url=base_url, checksums=checksums)

    assert [p.name for p in paths] == list(NAMES)
    assert requested == [f"/files/{name}" for name in NAMES]
    assert _no_partial_files(dest)
    dataset = load_dataset(paths[0])
    np.testing.assert_array_equal(dataset.images, digits[0])
    np.testing.assert_array_equal(dataset.labels, digits[1])


def test_files_with_the_right_md5_are_not_fetched_again(tmp_path, mirror):
    base_url, checksums, requested = mirror
    download_mnist(tmp_path / "dest", base_url=base_url, checksums=checksums)
    (tmp_path / "dest" / NAMES[1]).write_bytes(b"damaged")
    requested.clear()

    download_mnist(tmp_path / "dest", base_url=base_url, checksums=checksums)

    assert requested == [f"/files/{NAMES[1]}"]
    repaired = (tmp_path / "dest" / NAMES[1]).read_bytes()
    assert hashlib.md5(repaired).hexdigest() == checksums[NAMES[1]]


def test_checksum_mismatch(tmp_path, mirror, check_error):
    base_url, checksums, _ = mirror
    wrong = {**checksums, NAMES[2]: "0" * 32}
    with pytest.raises(DataError) as error:
        download_mnist(tmp_path, base_url=base_url, checksums=wrong)
    check_error(error, f"{base_url}/{NAMES[2]}", "md5", checksums[NAMES[2]], "0" * 32)
    assert not (tmp_path / NAMES[2]).exists()
    assert _no_partial_files(tmp_path)


def test_http_404(tmp_path, mirror, check_error):
    base_url, _, _ = mirror
    with pytest.raises(DataError) as error:
        download_mnist(tmp_path, base_url=base_url, checksums={"absent.gz": "0" * 32})
    check_error(error, f"{base_url}/absent.gz", "download failed (HTTP 404")
    assert list(tmp_path.iterdir()) == [tmp_path / "mirror"]


def test_connection_refused(tmp_path, check_error):
    with socket.socket() as probe:  # a port that was free a moment ago has no server on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(DataError) as error:
        download_mnist(tmp_path, base_url=url, checksums={"x.gz": "0" * 32}, timeout=5)
    check_error(error, f"{url}x.gz", "download failed")
    assert list(tmp_path.iterdir()) == []


def test_unknown_dataset(tmp_path):
    with pytest.raises(ConfigError, match="unknown 'cifar'"):
        download_mnist(tmp_path, dataset="cifar")  # type: ignore[arg-type]
