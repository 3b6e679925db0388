"""Atomic file output: every writer goes through a temporary file and a rename.

A crash or a bad sample therefore never leaves a partial file behind.
"""
import json
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator

import cv2
import numpy as np


@contextmanager
def atomic_path(path: str, suffix: str = '') -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on
    success, delete it on error. ``suffix`` ends the temporary name (writers
    such as ``cv2.imwrite`` pick the format from it)."""
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=dirname, prefix=f'.{osp.basename(path)}.', suffix='.tmp' + suffix)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_write_json(path: str, obj: Any, **kwargs) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            json.dump(obj, f, **kwargs)


def atomic_write_image(path: str, img: np.ndarray) -> None:
    """Write an image (PNG/JPEG chosen by ``path``'s extension) atomically.

    ``img`` is HxW (index or grey map) or HxWx3 in BGR order, as cv2 wants.
    """
    ext = osp.splitext(path)[1]
    with atomic_path(path, suffix=ext) as tmp:
        if not cv2.imwrite(tmp, img):
            raise OSError(f'cv2 could not write {path!r}')
