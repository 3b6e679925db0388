"""Full validation of a weak dataset: every image and annotation is read."""
from functools import partial
from typing import Dict, List

import numpy as np
from mmengine import track_parallel_progress, track_progress

from .annotations import ANNOTATIONS, PIXEL
from .transforms.loading import LoadCheckedImageFromFile, LoadWeakAnnotations
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
    counts = {'pixels': int(np.prod(results['img'].shape[:2]))}
    for name in names:
        if ANNOTATIONS[name].class_map:
            counts[name] = int(
                (results[ANNOTATIONS[name].results_key] != 255).sum())
    return counts


def check_dataset(dataset: WeakSegDataset, nproc: int = 2) -> dict:
    """Read every sample of ``dataset``; raise ``WeakAnnotationError`` on
    the first bad one, else return a summary (sample count, annotations
    present, labelled fraction of each pixel map)."""
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
        labelled_fraction=labelled)
