"""Validation of a whole weak dataset: the full check reads every image and
annotation (:func:`check_dataset`); the pre-flight reads only the image
headers to compare every map's size with its image's (:func:`check_sizes`).
"""
from functools import partial
from typing import Dict, List

import numpy as np
from mmengine import track_parallel_progress, track_progress
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image

from .annotations import ANNOTATIONS, PIXEL, annotations_of
from .transforms.loading import LoadCheckedImageFromFile, LoadWeakAnnotations
from .validation import WeakAnnotationError, exif_orientation
from .weak_seg_dataset import WeakSegDataset


def available_annotations(data_info: dict) -> List[str]:
    """Names (as :class:`LoadWeakAnnotations` takes them) a sample has."""
    return [
        name for name, kind in ANNOTATIONS.items()
        if (kind.source in data_info if kind.level == PIXEL else
            name in data_info.get('weak_ann', {}))
    ]


def _check_one(data_info: dict) -> Dict[str, int]:
    """Load a sample the way training does; return labelled-pixel counts."""
    names = available_annotations(data_info)
    results = LoadCheckedImageFromFile()(dict(data_info))
    results = LoadWeakAnnotations(names)(results)
    counts = {'pixels': int(np.prod(results['img'].shape[:2])),
              'exif_rotated': exif_orientation(data_info['img_path']) != 1}
    for name in names:
        if ANNOTATIONS[name].class_map:
            counts[name] = int(
                (results[ANNOTATIONS[name].results_key] != 255).sum())
    return counts


def check_dataset(dataset: WeakSegDataset, nproc: int = 2) -> dict:
    """Read every sample of ``dataset``; raise ``WeakAnnotationError`` on
    the first bad one, else return a summary (sample count, annotations
    present, labelled fraction of each pixel map, and the images that carry
    an EXIF orientation tag: loaded as stored, which is right when their
    maps were drawn on the stored pixels)."""
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    run = (partial(track_parallel_progress, nproc=nproc)
           if nproc > 1 else track_progress)
    per_sample = run(_check_one, infos)
    total = sum(c['pixels'] for c in per_sample)
    names = sorted({n for info in infos for n in available_annotations(info)})
    labelled = {
        n: round(sum(c.get(n, 0) for c in per_sample) / max(total, 1), 6)
        for n in names if ANNOTATIONS[n].class_map
    }
    return dict(
        samples=len(infos),
        classes=list(dataset.metainfo['classes']),
        annotations=names,
        labelled_fraction=labelled,
        exif_rotated=[
            info['sample_key'] for info, c in zip(infos, per_sample)
            if c['exif_rotated']
        ])


def check_config_datasets(cfg, splits=('train', 'val'), nproc: int = 2) -> dict:
    """:func:`check_dataset` on the ``<split>_dataloader`` datasets of an
    mmengine config (their pipelines are not needed); the report by split.
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    report = {}
    for split in splits:
        ds_cfg = cfg[f'{split}_dataloader']['dataset'].copy()
        while 'dataset' in ds_cfg:  # RepeatDataset-style wrappers
            ds_cfg = ds_cfg['dataset'].copy()
        ds_cfg['pipeline'] = []
        print(f'checking {split}: {ds_cfg.get("data_root")}')
        report[split] = check_dataset(DATASETS.build(ds_cfg), nproc)
    return report


def _header_hw(path: str, sample: str) -> tuple:
    try:
        with Image.open(path) as img:
            return img.size[::-1]
    except (OSError, ValueError) as e:
        raise WeakAnnotationError(path, sample, f'unreadable file: {e}')


def check_sizes(dataset: WeakSegDataset) -> int:
    """Pre-flight: every pixel map of ``dataset`` (full masks included) has
    its image's size, read from the file headers only (about 0.1 ms a
    file), so a bad map fails at start-up rather than when a training or
    validation first reads it. Class ids are checked when maps are loaded,
    or all at once by :func:`check_dataset`. Returns the maps checked."""
    kinds = annotations_of(PIXEL)
    checked = 0
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        sample = info.get('sample_key', info['img_path'])
        img_hw = None
        for kind in kinds:
            if kind.source not in info:
                continue
            img_hw = img_hw or _header_hw(info['img_path'], sample)
            map_hw = _header_hw(info[kind.source], sample)
            if map_hw != img_hw:
                raise WeakAnnotationError(
                    info[kind.source], sample,
                    f'{kind.name} map size {map_hw[1]}x{map_hw[0]} differs '
                    f'from the image size {img_hw[1]}x{img_hw[0]}')
            checked += 1
    return checked
