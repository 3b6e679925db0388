"""One dataset for every kind of weak annotation."""
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional

import numpy as np
from mmengine import fileio
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .validation import (WeakAnnotationError, check_boxes, check_proportions,
                         check_tags)

#: ``data_prefix`` keys of per-pixel maps, besides MMSeg's ``img_path`` and
#: ``seg_map_path`` (the full masks, optional here).
WEAK_MAP_PREFIXES = ('scribble_path', 'point_path', 'inst_map_path',
                     'pseudo_path')


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

    Per-pixel maps are named in ``data_prefix`` next to MMSeg's
    ``img_path``/``seg_map_path``: ``scribble_path``, ``point_path``,
    ``inst_map_path`` and ``pseudo_path`` (generated pseudo labels); leave a
    key out when the annotation does not exist. Image-level annotations come
    from ``tags_file``, ``proportions_file`` (JSON, keyed ``"<split>/<id>"``
    where ``<split>`` is the image folder's name unless ``key_prefix`` says
    otherwise) and ``instances_file`` (COCO json: boxes, their classes by
    category name, and ``inst_id`` linking a box to ``inst_map`` ids).

    Everything image-level is validated when the dataset is built; pixel maps
    are validated by :class:`LoadWeakAnnotations` when they are read, or all
    at once by ``tools/dataset/check_dataset.py``.

    Args:
        tags_file, proportions_file, instances_file (str): Optional, relative
            to ``data_root``.
        meta_file (str): JSON with ``classes`` and ``palette``, read when
            ``metainfo`` gives no classes. Defaults to ``'meta.json'``.
        key_prefix (str, optional): The ``<split>`` of the JSON keys.
    """

    def __init__(self,
                 tags_file: str = '',
                 proportions_file: str = '',
                 instances_file: str = '',
                 meta_file: str = 'meta.json',
                 key_prefix: Optional[str] = None,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = None,
                 **kwargs) -> None:
        join = (lambda p: osp.join(data_root, p)
                if p and data_root and not osp.isabs(p) else p)
        self.tags_file = join(tags_file)
        self.proportions_file = join(proportions_file)
        self.instances_file = join(instances_file)
        self.key_prefix = key_prefix
        metainfo = dict(metainfo or {})
        meta_path = join(meta_file)
        if 'classes' not in metainfo and meta_path and osp.isfile(meta_path):
            with open(meta_path) as f:
                meta = json.load(f)
            metainfo.setdefault('classes', tuple(meta['classes']))
            if 'palette' in meta:
                metainfo.setdefault('palette', [list(p) for p in meta['palette']])
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            metainfo=metainfo,
            data_root=data_root,
            **kwargs)

    @property
    def num_classes(self) -> int:
        return len(self.metainfo['classes'])

    def _read_json(self, path: str) -> dict:
        try:
            return json.loads(fileio.get_text(path))
        except (OSError, ValueError) as e:
            raise WeakAnnotationError(path, '*', f'cannot read JSON: {e}')

    def _lookup(self, table: dict, path: str, key: str):
        if key not in table:
            raise WeakAnnotationError(path, key, 'no entry for this sample')
        return table[key]

    def _load_instances(self) -> Dict[str, dict]:
        """COCO json -> {image stem: dict(bboxes, labels, instance_ids)}."""
        path = self.instances_file
        coco = self._read_json(path)
        classes = list(self.metainfo['classes'])
        cat_to_label = {}
        for cat in coco.get('categories', []):
            if cat['name'] not in classes:
                raise WeakAnnotationError(
                    path, f"category {cat['id']}",
                    f"category name {cat['name']!r} is not a dataset class")
            cat_to_label[cat['id']] = classes.index(cat['name'])
        anns = defaultdict(list)
        for ann in coco.get('annotations', []):
            anns[ann['image_id']].append(ann)
        out = {}
        for img in coco['images']:
            stem = osp.splitext(img['file_name'])[0]
            items = [a for a in anns[img['id']] if not a.get('iscrowd', 0)]
            xywh = np.array([a['bbox'] for a in items],
                            dtype=np.float32).reshape(-1, 4)
            boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]],
                                   axis=1)
            check_boxes(boxes, (img['height'], img['width']), path, stem)
            unknown = [a['category_id'] for a in items
                       if a['category_id'] not in cat_to_label]
            if unknown:
                raise WeakAnnotationError(
                    path, stem, f'annotations use unknown category ids '
                    f'{sorted(set(unknown))}')
            out[stem] = dict(
                bboxes=boxes.tolist(),
                labels=[cat_to_label[a['category_id']] for a in items],
                instance_ids=[a.get('inst_id', i + 1)
                              for i, a in enumerate(items)])
        return out

    def load_data_list(self) -> List[dict]:
        """MMSeg's image/mask listing plus every weak annotation per sample."""
        data_list = super().load_data_list()
        img_dir = self.data_prefix.get('img_path', '')
        split = self.key_prefix or osp.basename(osp.normpath(img_dir))
        tags = self._read_json(self.tags_file) if self.tags_file else None
        props = (self._read_json(self.proportions_file)
                 if self.proportions_file else None)
        insts = self._load_instances() if self.instances_file else None
        num_classes = self.num_classes
        for info in data_list:
            rel = osp.relpath(info['img_path'], img_dir)
            stem = rel[:-len(self.img_suffix)]
            key = f'{split}/{stem}'
            info['sample_key'] = key
            info['num_classes'] = num_classes
            for prefix in WEAK_MAP_PREFIXES:
                if prefix in self.data_prefix:
                    path = osp.join(self.data_prefix[prefix],
                                    stem + self.seg_map_suffix)
                    if not fileio.exists(path):
                        raise WeakAnnotationError(
                            path, key, f'missing {prefix[:-5]} map')
                    info[prefix] = path
            weak = info['weak_ann'] = {}
            if tags is not None:
                weak['tags'] = check_tags(
                    self._lookup(tags, self.tags_file, key), num_classes,
                    self.tags_file, key).tolist()
            if props is not None:
                weak['proportions'] = check_proportions(
                    self._lookup(props, self.proportions_file, key),
                    num_classes, self.proportions_file, key).tolist()
            if insts is not None:
                weak['boxes'] = self._lookup(insts, self.instances_file, stem)
        return data_list
