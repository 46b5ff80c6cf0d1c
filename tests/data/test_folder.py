"""Image folders: class subfolders as labels, the converted-array cache, bad files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import counterfeit.data.folder as folder_module
from counterfeit.data import load_dataset, read_image_folder
from counterfeit.errors import DataError


def write_images(folder: Path, values: list[int], size: tuple[int, int] = (40, 30)) -> None:
    """One RGB PNG per value, each a flat grey of that value (so the converted pixels are known)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, value in enumerate(values):
        Image.new("RGB", size, (value, value, value)).save(folder / f"img{i:03d}.png")


@pytest.fixture
def classes(tmp_path: Path) -> Path:
    """Three classes whose names sort differently from their creation order, 2-3 images each."""
    root = tmp_path / "shapes"
    write_images(root / "zebra", [200, 210])
    write_images(root / "ant", [10, 20, 30])
    write_images(root / "moth", [100, 110])
    return root


def test_class_subfolders_become_labels_in_sorted_order(classes: Path) -> None:
    dataset = read_image_folder(classes)
    assert dataset.classes == ("ant", "moth", "zebra")
    assert dataset.labels.tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert dataset.images.shape == (7, 28, 28)
    assert dataset.images[:, 14, 14].tolist() == [10, 20, 30, 100, 110, 200, 210]  # each image with its label


def test_a_flat_folder_is_unlabelled_and_invert_flips_it(tmp_path: Path) -> None:
    write_images(tmp_path / "flat", [0, 255, 40])
    (tmp_path / "flat" / ".DS_Store").write_bytes(b"hidden files are ignored")
    dataset = load_dataset(tmp_path / "flat")
    assert dataset.labels is None and dataset.classes is None
    assert dataset.images[:, 0, 0].tolist() == [0, 255, 40]
    inverted = load_dataset(tmp_path / "flat", invert=True)
    assert inverted.images[:, 0, 0].tolist() == [255, 0, 215]
    assert inverted.fingerprint != dataset.fingerprint


def test_a_second_read_comes_from_the_cache_until_a_file_changes(classes: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    first = read_image_folder(classes)
    with monkeypatch.context() as patch:
        patch.setattr(folder_module, "_convert", lambda path: pytest.fail(f"converted {path} again"))
        assert read_image_folder(classes).fingerprint == first.fingerprint
    changed = classes / "moth" / "img000.png"
    Image.new("L", (28, 28), 77).save(changed)
    os.utime(changed, ns=(1, 1))  # a new mtime, whatever the clock's resolution
    assert read_image_folder(classes).images[3, 0, 0] == 77


def test_two_folders_alike_in_names_sizes_and_times_keep_their_own_images(tmp_path: Path) -> None:
    for name, value in (("a", 30), ("b", 200)):  # as two archives unpacked with their times kept
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("L", (28, 28), value).save(tmp_path / name / f"{i}.png", compress_level=0)  # one size
            os.utime(tmp_path / name / f"{i}.png", ns=(1, 1))
    assert (tmp_path / "a" / "0.png").stat().st_size == (tmp_path / "b" / "0.png").stat().st_size
    assert (read_image_folder(tmp_path / "a").images == 30).all()
    assert (read_image_folder(tmp_path / "b").images == 200).all()  # was a's images, from the cache


def test_one_bad_file_is_named(classes: Path) -> None:
    (classes / "moth" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(DataError) as error:
        read_image_folder(classes)
    message = str(error.value)
    assert "\n" not in message and str(classes / "moth" / "broken.png") in message
    assert "cannot be read as an image" in message and "--skip-bad" in message


def test_several_bad_files_give_a_count_and_the_first_and_skip_bad_goes_on(classes: Path) -> None:
    good = read_image_folder(classes)
    png = classes / "ant" / "img000.png"
    (classes / "ant" / "notes.txt").write_text("not an image")
    (classes / "zebra" / "cut.png").write_bytes(png.read_bytes()[:60])  # a truncated PNG
    Image.new("L", (28, 28)).save(classes / "zebra" / "really.gif.png", format="GIF")
    with pytest.raises(DataError, match=rf"{classes}: 3 files are not usable images, the first "
                                        rf"{classes / 'ant' / 'notes.txt'}: not a PNG or JPEG file name"):
        read_image_folder(classes)
    skipped = read_image_folder(classes, skip_bad=True)
    np.testing.assert_array_equal(skipped.images, good.images)
    np.testing.assert_array_equal(skipped.labels, good.labels)


@pytest.mark.parametrize("case", ["empty", "empty_class", "mixed", "only_bad_class", "elongated"])
def test_bad_folders_are_one_line_naming_the_problem(case: str, tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    if case == "empty":
        expected = (root, "holds no PNG or JPEG images")
    elif case == "empty_class":
        write_images(root / "a", [1])
        (root / "b").mkdir()
        expected = (root / "b", "class folder holds no images")
    elif case == "mixed":
        write_images(root / "a", [1])
        write_images(root, [2])
        expected = (root, "holds class subfolders and also files such as img000.png")
    elif case == "only_bad_class":
        write_images(root / "a", [1])
        (root / "b").mkdir()
        (root / "b" / "x.jpg").write_bytes(b"not a jpeg")
        expected = (root / "b", "class folder holds no readable images")
    else:
        write_images(root, [1, 2])
        Image.new("L", (150, 30)).save(root / "strip.png")
        expected = (root / "strip.png", "150x30 pixels is too elongated")
    with pytest.raises(DataError) as error:
        read_image_folder(root, skip_bad=case == "only_bad_class")
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{expected[0]}: ") and expected[1] in message


def test_cli_refuses_a_folder_with_a_corrupt_png_and_writes_nothing(classes: Path, tmp_path: Path) -> None:
    (classes / "ant" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "counterfeit", "train", "--preset", "tiny", "--data",
                             str(classes), "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and str(classes / "ant" / "broken.png") in result.stderr
    assert not out.exists()
