"""Online pseudo labels computed in the data pipeline."""
import hashlib
import os.path as osp
from typing import Dict, Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmseg_wsss.algorithms.superpixels import (scribble_pseudo_mask,
                                               slico_superpixels)
from mmseg_wsss.utils import atomic_path
from ..validation import WeakAnnotationError


class SuperpixelCache:
    """SLICO superpixels (:func:`~mmseg_wsss.algorithms.superpixels.
    slico_superpixels`) of images, computed once per image content and
    ``n_segments``: kept in memory (per process: each data worker has its
    own) and, with ``cache_dir``, in ``cache_dir/slico-v1/n<n_segments>/
    <content hash>.npy``, written atomically and shared by processes and
    runs. A cached map is exactly what the computation returns (stored as
    uint16 when the ids fit); an unreadable cache file is recomputed.

    Args:
        n_segments (int): Superpixels requested.
        cache_dir (str, optional): On-disk cache root; ``None``: memory only.
    """
    VERSION = 'slico-v1'

    def __init__(self, n_segments: int,
                 cache_dir: Optional[str] = None) -> None:
        self.n_segments = n_segments
        self.dir = (osp.join(cache_dir, self.VERSION, f'n{n_segments}')
                    if cache_dir else None)
        self._memory: Dict[str, np.ndarray] = {}

    @staticmethod
    def key(img: np.ndarray) -> str:
        """Content hash of an image (pixels, shape and dtype)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(f'{img.shape}{img.dtype}'.encode())
        h.update(np.ascontiguousarray(img).data)
        return h.hexdigest()

    def _load(self, path: str) -> Optional[np.ndarray]:
        try:
            return np.load(path)
        except (OSError, ValueError):
            return None

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        key = self.key(rgb)
        labels = self._memory.get(key)
        path = osp.join(self.dir, key + '.npy') if self.dir else None
        if labels is None and path and osp.isfile(path):
            labels = self._load(path)
        if labels is None:
            labels = slico_superpixels(rgb, self.n_segments)
            if labels.max() < 2**16:
                labels = labels.astype(np.uint16)
            if path:
                with atomic_path(path, suffix='.npy') as tmp:
                    np.save(tmp, labels)
        self._memory[key] = labels
        return labels


@TRANSFORMS.register_module()
class ScribbleSuperpixelPseudoMask(BaseTransform):
    """Pseudo-mask from scribbles + SLICO superpixels (Centroid Loss paper,
    §IV-A): every pixel of a superpixel touched by one class's scribbles
    takes that class; a superpixel touched by several classes is ignored
    except for its scribble pixels (see :func:`~mmseg_wsss.algorithms.
    superpixels.scribble_pseudo_mask`).

    Put it right after ``LoadWeakAnnotations(['scribble', ...])``, before
    any geometric transform, so that superpixels are computed on the image
    as annotated. Adds ``gt_pseudo_map`` (to ``seg_fields``). The offline
    equivalent is ``tools/dataset/make_pseudo_masks.py``.

    Superpixels depend on the image and ``n_segments`` only, so they are
    computed once per image (:class:`SuperpixelCache`) rather than for every
    sample drawn: the pseudo-masks are identical, the data pipeline many
    times faster.

    Args:
        n_segments (int): Superpixels requested (the paper: 30, 50, 80).
        num_classes (int, optional): Default: the sample's ``num_classes``
            (set by :class:`WeakSegDataset`).
        ignore_index (int): Defaults to 255.
        cache_dir (str, optional): Also keep the superpixels on disk there
            (shared by data workers and runs); default: in memory only.
    """

    def __init__(self, n_segments: int = 50,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 cache_dir: Optional[str] = None) -> None:
        self.n_segments = n_segments
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.superpixels = SuperpixelCache(n_segments, cache_dir)

    def transform(self, results: dict) -> dict:
        num_classes = self.num_classes or results.get('num_classes')
        if num_classes is None:
            raise WeakAnnotationError(
                results.get('img_path', '?'), results.get('sample_key', '?'),
                'the class count is unknown: use WeakSegDataset or give '
                'ScribbleSuperpixelPseudoMask num_classes=...')
        superpixels = self.superpixels(mmcv.bgr2rgb(results['img']))
        results['gt_pseudo_map'] = scribble_pseudo_mask(
            results['gt_scribble_map'], superpixels, num_classes,
            self.ignore_index)
        if 'gt_pseudo_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_pseudo_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(n_segments={self.n_segments})'
