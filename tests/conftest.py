"""Shared test fixtures: the real annotation files and placeholder images behind them."""
import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

REAL_ANNOTATIONS = Path(__file__).parent / "fixtures" / "real_annotations"
"""Byte-exact copies of public annotation files (see its PROVENANCE.md); no images."""


def place_images(jpeg: str, folder: str, names) -> None:
    """Hard-link (or copy) one placeholder JPEG to every name in ``folder``; fast for 37k names."""
    os.makedirs(folder, exist_ok=True)
    for name in names:
        target = os.path.join(folder, name)
        if os.path.exists(target):
            continue
        try:
            os.link(jpeg, target)
        except OSError:
            shutil.copyfile(jpeg, target)


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory) -> str:
    """Path of a tiny valid JPEG to stand behind listed image names (one per test module: a
    file system allows only so many hard links to one file, and CityFlow alone needs 56k)."""
    path = tmp_path_factory.mktemp("jpeg") / "tiny.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 30, 30)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return str(path)


def write_notebook(path, parameters: str, *cells):
    """A notebook at ``path``: a ``parameters``-tagged cell, then ``cells`` (code as strings,
    or nbformat cells), with a python3 kernelspec; returns ``path``."""
    import nbformat

    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) if isinstance(c, str) else c
                           for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path
