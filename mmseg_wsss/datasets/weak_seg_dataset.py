"""One dataset for every kind of weak annotation."""
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine import fileio
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .annotations import IMAGE, PIXEL, annotations_of
from .annotations import get_annotation as get_kind
from .annotations import read_json
from .validation import WeakAnnotationError, check_meta


@DATASETS.register_module()
class WeakSegDataset(BaseSegDataset):
    """Segmentation dataset with any mix of weak annotations.

    It reads the layout of ``../shared/data`` (and of the demo set)::

        data_root/
          meta.json                       classes, palette (optional)
          img_dir/{split}/<id>.jpg
          ann_dir/{split}/<id>.png        full masks (optional)
          weak/scribbles_w20/{split}/<id>.png, weak/points/{split}/<id>.png
          weak/tags.json, weak/proportions.json   keys "<split>/<id>"
          instances/{split}.json, inst_dir/{split}/<id>.png   COCO boxes/ids

    What it reads is declared in the annotation registry
    (:mod:`mmseg_wsss.datasets.annotations`). Per-pixel maps are named in
    ``data_prefix`` next to MMSeg's ``img_path``/``seg_map_path``:
    ``scribble_path``, ``point_path``, ``inst_map_path`` and ``pseudo_path``
    (generated pseudo labels); leave a key out when the annotation does not
    exist. Image-level annotations come from files named by the dataset
    arguments ``tags_file``, ``proportions_file`` (JSON, keyed
    ``"<split>/<id>"`` where ``<split>`` is the image folder's name unless
    ``key_prefix`` says otherwise) and ``instances_file`` (COCO json: boxes,
    their classes by category name, and ``inst_id`` linking a box to
    ``inst_map`` ids); a newly registered image-level kind adds its own.

    Everything image-level is validated when the dataset is built; pixel maps
    are validated by :class:`LoadWeakAnnotations` when they are read, or all
    at once by ``tools/dataset/check_dataset.py``.

    ``num_classes`` (from the classes of ``metainfo``) is put in every
    sample's data info for the transforms.

    Args:
        tags_file, proportions_file, instances_file (str): Optional, relative
            to ``data_root`` (the ``source`` of each image-level kind).
        meta_file (str): JSON with ``classes`` and ``palette``, read (and
            checked: distinct names, one RGB triple per class) when
            ``metainfo`` gives no classes; without either, an error names
            the missing file. Defaults to ``'meta.json'``.
        key_prefix (str, optional): The ``<split>`` of the JSON keys.
        full_subset (dict, optional): Semi-supervision (panoptic paper
            §3.5): the samples of a subset train on their full mask in
            place of the pixel annotation ``replaces`` (default
            ``'pseudo'``), the others on their weak labels, in one run.
            The subset is ``list_file`` (one sample id per line, as
            ``<id>`` or ``<split>/<id>``, relative to ``data_root``) or a
            deterministic ``fraction`` of the samples (``seed``, default 0:
            the same images every run). Needs ``data_prefix.seg_map_path``.
            Each sample's data info says ``supervision='full'`` or
            ``'weak'``.
    """

    def __init__(self,
                 meta_file: str = 'meta.json',
                 key_prefix: Optional[str] = None,
                 full_subset: Optional[dict] = None,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = None,
                 **kwargs) -> None:
        join = (lambda p: osp.join(data_root, p)
                if p and data_root and not osp.isabs(p) else p)
        #: image-level annotation files by kind name (``tags_file=`` ...)
        self.ann_files = {
            kind.name: join(kwargs.pop(kind.source, ''))
            for kind in annotations_of(IMAGE)
        }
        self.key_prefix = key_prefix
        self.full_subset = dict(full_subset) if full_subset else None
        if self.full_subset and self.full_subset.get('list_file'):
            self.full_subset['list_file'] = join(
                self.full_subset['list_file'])
        metainfo = dict(metainfo or {})
        #: where the classes come from (named by class-count errors)
        self.meta_path = join(meta_file)
        if 'classes' not in metainfo:
            if not self.meta_path or not osp.isfile(self.meta_path):
                raise WeakAnnotationError(
                    self.meta_path or str(data_root), '*',
                    'no class list: give the dataset a meta.json with '
                    '"classes" (and "palette"), or metainfo=dict(classes=...)')
            meta = check_meta(read_json(self.meta_path), self.meta_path)
            metainfo = {**meta, **metainfo}
        else:
            self.meta_path = None
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            metainfo=metainfo,
            data_root=data_root,
            **kwargs)

    @property
    def num_classes(self) -> int:
        return len(self.metainfo['classes'])

    def load_data_list(self) -> List[dict]:
        """MMSeg's image/mask listing plus every weak annotation per sample:
        pixel-map paths under their ``data_prefix`` keys, image-level
        annotations (validated) in ``info['weak_ann'][name]``."""
        data_list = super().load_data_list()
        img_dir = self.data_prefix.get('img_path', '')
        split = self.key_prefix or osp.basename(osp.normpath(img_dir))
        classes = self.metainfo['classes']
        num_classes = len(classes)
        tables = {
            name: (path, get_kind(name).read(path, classes, split))
            for name, path in self.ann_files.items() if path
        }
        pixel_kinds = [k for k in annotations_of(PIXEL)
                       if k.source in self.data_prefix
                       and k.source != 'seg_map_path']
        keys = [
            f'{split}/{osp.relpath(info["img_path"], img_dir)}'
            [:-len(self.img_suffix)] for info in data_list
        ]
        full = self._full_subset(keys, split)
        for key, info in zip(keys, data_list):
            info['sample_key'] = key
            info['num_classes'] = num_classes
            info['supervision'] = 'full' if key in full else 'weak'
            rel = osp.relpath(info['img_path'], img_dir)
            for kind in pixel_kinds:
                if key in full and kind.name == self.full_subset.get(
                        'replaces', 'pseudo'):
                    info[kind.source] = info['seg_map_path']
                    continue
                path = osp.join(self.data_prefix[kind.source],
                                rel[:-len(self.img_suffix)] +
                                self.seg_map_suffix)
                if not fileio.exists(path):
                    raise WeakAnnotationError(path, key,
                                              f'missing {kind.name} map')
                info[kind.source] = path
            weak = info['weak_ann'] = {}
            for name, (path, table) in tables.items():
                if key not in table:
                    raise WeakAnnotationError(path, key,
                                              'no entry for this sample')
                weak[name] = get_kind(name).decode(table[key], num_classes,
                                                   path, key)
        return data_list

    def _full_subset(self, keys: List[str], split: str) -> set:
        """The sample keys of ``full_subset`` (empty without one)."""
        cfg = self.full_subset
        if not cfg:
            return set()
        if 'seg_map_path' not in self.data_prefix:
            raise WeakAnnotationError(
                str(self.data_root), '*', 'full_subset trains on full masks: '
                'set data_prefix.seg_map_path (ann_dir/<split>)')
        replaces = cfg.get('replaces', 'pseudo')
        if get_kind(replaces).level != PIXEL:
            raise ValueError(f'full_subset replaces {replaces!r}, which is '
                             'not a pixel annotation')
        if cfg.get('list_file'):
            path = cfg['list_file']
            try:
                with open(path) as f:
                    ids = [line.strip() for line in f if line.strip()]
            except OSError as e:
                raise WeakAnnotationError(path, '*', f'unreadable: {e}')
            chosen = {i if '/' in i else f'{split}/{i}' for i in ids}
            unknown = sorted(chosen - set(keys))
            if unknown:
                raise WeakAnnotationError(path, unknown[0],
                                          'not a sample of the dataset')
            return chosen
        fraction = float(cfg.get('fraction', -1))
        if not 0 <= fraction <= 1:
            raise ValueError('full_subset needs list_file or a fraction in '
                             f'[0, 1], got {cfg}')
        order = np.random.default_rng(cfg.get('seed', 0)).permutation(
            len(keys))
        return {sorted(keys)[i] for i in order[:round(fraction * len(keys))]}
