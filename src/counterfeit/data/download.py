"""`counterfeit download --dataset NAME`: fetch a known dataset's four IDX files, resumably.

Each file is written to a hidden `.NAME.part` file beside its destination, resumed with an HTTP
Range request after a cut connection, checked against its pinned md5 and only then renamed into
place; so a file under its real name is complete and correct, and nothing reads a `.part` file.
A checksum mismatch removes the `.part` file (its bytes are wrong); a network error keeps it, so
the same command resumes where it stopped.
"""

from __future__ import annotations

import http.client
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from tqdm import tqdm

from counterfeit.data.named import download_dir, file_md5, named_dataset
from counterfeit.errors import DataError
from counterfeit.fileio import fsync_directory

CHUNK = 1 << 16
RANGE_NOT_SATISFIABLE = 416  # the .part file already holds the whole file
URL_SCHEMES = ("http", "https", "ftp", "file")  # what urllib.request opens


def download(name: str = "mnist", dest_dir: str | os.PathLike[str] | None = None, *,
             base_url: str | None = None, timeout: float = 30,
             checksums: Mapping[str, str] | None = None) -> list[Path]:
    """Download a known dataset's files into dest_dir (default: the cache folder, where
    `--data NAME` finds them) and return their paths, in the order of `checksums` (train images,
    train labels, test images, test labels by default).

    Files already present with the right md5 are not fetched again. `base_url` and `checksums`
    (file name -> md5) replace the defaults, e.g. for a private mirror.
    """
    spec = named_dataset(name)
    base_url = base_url or spec.mirror
    if urllib.parse.urlsplit(base_url).scheme.lower() not in URL_SCHEMES:  # urllib's own error is a ValueError
        raise DataError(f"--base-url {base_url}: not a URL (expected one starting with "
                        f"{', '.join(s + '://' for s in URL_SCHEMES)})")
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    dest = Path(dest_dir) if dest_dir is not None else download_dir(name)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{dest}: cannot create directory ({error.strerror})") from None
    sizes = {f.name: f.size for f in spec.files} if checksums is None else {}
    paths = []
    for file_name, expected_md5 in (checksums or {f.name: f.md5 for f in spec.files}).items():
        path = dest / file_name
        if _md5_or_none(path) != expected_md5:
            _fetch_verified(base_url + file_name, path, expected_md5, sizes.get(file_name), timeout)
        paths.append(path)
    return paths


def part_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


def _md5_or_none(path: Path) -> str | None:
    try:
        return file_md5(path)
    except OSError:  # absent or unreadable: fetch it again, and a write error will say why
        return None


def _fetch_verified(url: str, path: Path, expected_md5: str, size: int | None, timeout: float) -> None:
    part = part_path(path)
    _fetch_resuming(url, part, size, timeout)
    actual_md5 = file_md5(part)
    if actual_md5 != expected_md5:
        part.unlink()
        raise DataError(f"{url}: md5 {actual_md5} does not match expected {expected_md5}")
    try:
        os.replace(part, path)
        fsync_directory(path.parent)
    except OSError as error:
        raise DataError(f"{path}: cannot write ({error.strerror})") from None


def _fetch_resuming(url: str, part: Path, size: int | None, timeout: float) -> None:
    """Append to `part` from where it ends (a Range request), or start it over when the server
    sends the whole file; returns when `part` holds every byte the server announced."""
    offset = part.stat().st_size if part.is_file() else 0
    if size is not None and offset >= size:
        if offset == size:
            return  # complete: the md5 decides
        offset = 0  # longer than the file can be: not ours to continue
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    written = offset
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if offset and response.status != http.HTTPStatus.PARTIAL_CONTENT:
                written = offset = 0  # the server ignored the Range header
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else size
            with open(part, "ab" if offset else "wb") as out, \
                    tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=part.name[1:-5],
                         disable=None, file=sys.stderr, leave=False) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
    except urllib.error.HTTPError as error:
        error.close()  # else its open response leaks a ResourceWarning
        if error.code == RANGE_NOT_SATISFIABLE and offset:
            return
        raise DataError(f"{url}: download failed (HTTP {error.code} {error.reason})") from None
    except urllib.error.URLError as error:
        raise DataError(f"{url}: download failed ({error.reason}){_kept(part, written)}") from None
    except (OSError, http.client.HTTPException) as error:
        raise DataError(f"{url}: download failed ({type(error).__name__}: {error}){_kept(part, written)}") from None
    if total is not None and written < total:  # urllib returns b"" when a connection is cut early
        raise DataError(f"{url}: download failed (connection closed after {written} of {total} bytes)"
                        f"{_kept(part, written)}")


def _kept(part: Path, written: int) -> str:
    return f"; {written} bytes kept in {part}, run the command again to resume" if written else ""
