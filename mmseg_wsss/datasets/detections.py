"""Cached object detections: the input of the instance subnetwork (Li,
Arnab, Torr, ECCV 2018, §3.5), written per split by
``tools/dataset/make_detections.py`` (a detector, or the ground-truth boxes
with score 1)::

    {"format": "mmseg_wsss.detections/1", "split": "val",
     "source": "<checkpoint path or 'ground truth'>",
     "classes": ["background", ...],      # the segmentation dataset's
     "images": {"val/<stem>": {"img_hw": [h, w],
                               "bboxes": [[x1, y1, x2, y2], ...],
                               "labels": [<index into classes>, ...],
                               "scores": [<in [0, 1]>, ...]}}}

Boxes are in original-image pixels. A box partly outside its image is
kept as it is (the detector's rescaling can overshoot the border by a
fraction of a pixel): its users clip it to the image. A box of zero area
or entirely outside the image is an error.
"""
from typing import Sequence

import numpy as np

from .validation import WeakAnnotationError, read_json

FORMAT = 'mmseg_wsss.detections/1'


def _first_difference(got: Sequence[str], want: Sequence[str]) -> str:
    """Where two different class lists first differ, in words."""
    def name(seq: Sequence[str], i: int) -> str:
        return repr(seq[i]) if i < len(seq) else '(none)'

    i = next(i for i in range(max(len(got), len(want)))
             if name(got, i) != name(want, i))
    return (f'class {i} is {name(got, i)} in the file but {name(want, i)} '
            'in the dataset')


def check_entry(entry: dict, num_classes: int, file: str,
                sample: str) -> dict:
    """One image's detections, checked (see the module docstring); the
    entry back with ``bboxes`` as an (N, 4) list of floats."""
    if not isinstance(entry, dict) or not {
            'img_hw', 'bboxes', 'labels', 'scores'} <= set(entry):
        raise WeakAnnotationError(
            file, sample, 'an entry needs img_hw, bboxes, labels and scores')
    hw = entry['img_hw']
    if (not isinstance(hw, list) or len(hw) != 2
            or not all(isinstance(v, int) and v > 0 for v in hw)):
        raise WeakAnnotationError(
            file, sample, f'img_hw must be [height, width], got {hw!r}')
    try:
        boxes = np.asarray(entry['bboxes'], np.float64).reshape(-1, 4)
        scores = np.asarray(entry['scores'], np.float64).reshape(-1)
        labels = np.asarray(entry['labels']).reshape(-1)
    except (TypeError, ValueError) as e:
        raise WeakAnnotationError(file, sample, f'malformed detections: {e}')
    if not len(boxes) == len(scores) == len(labels):
        raise WeakAnnotationError(
            file, sample, f'{len(boxes)} boxes, {len(labels)} labels and '
            f'{len(scores)} scores')
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise WeakAnnotationError(
            file, sample, f'labels must be class indices, got {labels}')
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise WeakAnnotationError(
            file, sample, f'labels {bad.tolist()} out of range (the dataset '
            f'has {num_classes} classes)')
    if not (np.isfinite(scores) & (scores >= 0) & (scores <= 1)).all():
        raise WeakAnnotationError(
            file, sample, f'scores must be finite and in [0, 1], got '
            f'{scores.tolist()}')
    if not np.isfinite(boxes).all():
        raise WeakAnnotationError(file, sample, 'boxes must be finite')
    x1, y1, x2, y2 = boxes.T
    zero = np.flatnonzero((x2 <= x1) | (y2 <= y1))
    if zero.size:
        raise WeakAnnotationError(
            file, sample, f'box {boxes[zero[0]].tolist()} has zero area')
    h, w = hw
    out = np.flatnonzero((x2 <= 0) | (y2 <= 0) | (x1 >= w) | (y1 >= h))
    if out.size:
        raise WeakAnnotationError(
            file, sample, f'box {boxes[out[0]].tolist()} lies entirely '
            f'outside the {w}x{h} image')
    return dict(img_hw=list(hw), bboxes=boxes.tolist(),
                labels=labels.astype(int).tolist(), scores=scores.tolist())


def check_detections(data: dict, classes: Sequence[str], split: str,
                     file: str) -> dict:
    """A detections file's content, checked against the dataset's
    ``classes`` and ``split``: ``{"<split>/<stem>": entry}`` (entries as
    :func:`check_entry` returns them)."""
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        got = data.get('format') if isinstance(data, dict) else data
        raise WeakAnnotationError(
            file, '*', f'format {got!r} is not {FORMAT!r} (make the file '
            'with tools/dataset/make_detections.py)')
    if data.get('split') != split:
        raise WeakAnnotationError(
            file, '*', f"detections of split {data.get('split')!r}, "
            f'expected {split!r}')
    got = data.get('classes')
    if not isinstance(got, list) or got != list(classes):
        raise WeakAnnotationError(
            file, '*', 'classes differ from the dataset\'s: '
            + (_first_difference(got, classes) if isinstance(got, list)
               else f'got {got!r}'))
    images = data.get('images')
    if not isinstance(images, dict):
        raise WeakAnnotationError(file, '*', '"images" must be an object')
    out = {}
    for key, entry in images.items():
        if not key.startswith(f'{split}/'):
            raise WeakAnnotationError(
                file, key, f'keys must be "{split}/<image stem>"')
        out[key] = check_entry(entry, len(classes), file, key)
    return out


def read_detections(path: str, classes: Sequence[str], split: str) -> dict:
    """The detections of ``path`` keyed ``"<split>/<stem>"``, each a dict
    of ``bboxes`` ((N, 4) list, x1 y1 x2 y2 in image pixels), ``labels``
    (indices into ``classes``), ``scores`` and ``img_hw``.

    Raises:
        WeakAnnotationError: naming the file and the sample: unreadable
            JSON, another format, split or class list (the first
            differing class), non-finite or out-of-range scores, labels
            out of range, zero-area boxes or boxes entirely outside their
            image.
    """
    return check_detections(read_json(path), classes, split, path)
