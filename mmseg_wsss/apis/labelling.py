"""Labelling a dataset with a segmentation model: the one loop behind
:class:`~mmseg_wsss.engine.PseudoLabelRefreshHook` and the tools that write
label maps (``make_seeds``, ``label_with_model``, ``crf_refine``).

* :func:`label_dataset` runs MMSeg inference (``model.test_step``: the
  prediction at the original image size), optionally refined by a dense
  CRF, over a dataset (this rank's share of it when distributed);
* a :class:`LabelWriter` saves each map atomically, with an optional
  overlay, and measures it against the sample's full mask; a
  :class:`StagedLabelWriter` also saves a pipeline's intermediate maps;
* :func:`staging_dir` / :func:`publish` make a whole folder appear at once;
* :func:`run_shards` spreads a labelling job over CPU processes.
"""
import os
import os.path as osp
import shutil
from multiprocessing import Pool
from typing import Callable, List, Optional, Sequence, TypeVar, Union

import cv2
import mmcv
import numpy as np
import torch
from mmengine.dataset import BaseDataset, Compose, pseudo_collate
from mmengine.dist import get_dist_info
from mmengine.utils import ProgressBar
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample

from mmseg_wsss.algorithms.box_labels import clamp_to_boxes
from mmseg_wsss.algorithms.crf import dense_crf
from mmseg_wsss.algorithms.quality import LabelQuality
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.utils import atomic_write_image
from mmseg_wsss.visualization import labels_panel

#: images only, packed as for testing: the pipeline for labelling training
#: images (whose own pipeline augments)
IMAGE_PIPELINE = (dict(type='LoadCheckedImageFromFile'),
                  dict(type='PackWeakSegInputs', target=None))

#: ``overlay(img_rgb, sample, labels, palette) -> RGB image``
Overlay = Callable[[np.ndarray, SegDataSample, np.ndarray, Sequence],
                   np.ndarray]
T = TypeVar('T')


def image_and_labels(img_rgb: np.ndarray, sample: SegDataSample,
                     labels: np.ndarray, palette: Sequence) -> np.ndarray:
    """The default overlay: image | labels."""
    return labels_panel(img_rgb, labels, palette)


class LabelWriter:
    """Saves the label maps of :func:`label_dataset`.

    The map of a sample goes to ``out_dir/<name><suffix>`` (``name``: the
    image path relative to the dataset's image folder, without its suffix,
    as ``data_prefix.pseudo_path`` expects), written atomically as a uint8
    PNG. With ``overlay_dir``, ``overlay(img_rgb, sample, labels, palette)``
    (default: image | labels) goes to ``overlay_dir/<name>.png`` first.
    ``quality`` sums every map against the sample's full mask
    (``gt_full_sem_seg``: the pipeline loads ``'full'``), or counts it
    unmeasured.

    Args:
        out_dir (str): Folder of the label maps.
        suffix (str): File ending of the maps (the dataset's
            ``seg_map_suffix`` for pseudo labels).
        overlay_dir (str, optional): Folder of the overlays; none if None.
        palette (list, optional): Class colours, needed for overlays.
        overlay (callable): Draws an overlay.
        resume (bool): Keep the existing map of a sample (checked against
            the image size, measured, no inference), so that an interrupted
            run continues.
        ignore_index (int): Unlabelled value.
        postprocess (callable, optional): ``postprocess(labels, sample) ->
            labels``, applied to every new map before it is drawn, saved
            and measured (e.g. :func:`box_prior`).
    """

    def __init__(self,
                 out_dir: str,
                 suffix: str = '.png',
                 overlay_dir: Optional[str] = None,
                 palette: Optional[Sequence] = None,
                 overlay: Overlay = image_and_labels,
                 resume: bool = False,
                 ignore_index: int = 255,
                 postprocess: Optional[Callable[[np.ndarray, SegDataSample],
                                                np.ndarray]] = None) -> None:
        if overlay_dir is not None and palette is None:
            raise ValueError('overlays need the palette')
        self.out_dir = out_dir
        self.suffix = suffix
        self.overlay_dir = overlay_dir
        self.palette = palette
        self.overlay = overlay
        self.resume = resume
        self.quality = LabelQuality(ignore_index)
        self.postprocess = postprocess

    def path(self, name: str) -> str:
        """Where the map of sample ``name`` goes."""
        return osp.join(self.out_dir, name + self.suffix)

    def keep(self, name: str, sample: SegDataSample) -> bool:
        """Whether the existing map of ``name`` stands (``resume``); it is
        then measured. An unreadable one, or one of another size than the
        image, raises a :class:`WeakAnnotationError`."""
        path = self.path(name)
        if not (self.resume and osp.isfile(path)):
            return False
        labels = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if labels is None or labels.shape != tuple(sample.ori_shape[:2]):
            raise WeakAnnotationError(
                path, sample.metainfo.get('sample_key', name),
                'unreadable label map or size different from the image: '
                'delete it to remake it')
        self.measure(sample, labels)
        return True

    def write(self, name: str, sample: SegDataSample,
              labels: np.ndarray) -> None:
        """Save ``labels`` (uint8) of the predicted ``sample`` (after
        ``postprocess``) and its overlay; measure them."""
        if self.postprocess is not None:
            labels = self.postprocess(labels, sample).astype(np.uint8)
        if self.overlay_dir is not None:
            img = mmcv.imread(sample.img_path, 'color_ignore_orientation',
                              channel_order='rgb')
            panel = self.overlay(img, sample, labels, self.palette)
            atomic_write_image(osp.join(self.overlay_dir, name + '.png'),
                               panel[..., ::-1])
        atomic_write_image(self.path(name), labels)
        self.measure(sample, labels)

    def measure(self, sample: SegDataSample, labels: np.ndarray) -> None:
        """Add ``labels`` to :attr:`quality`."""
        full = (sample.gt_full_sem_seg.data[0].cpu().numpy()
                if 'gt_full_sem_seg' in sample else None)
        self.quality.add(labels, full)


class StagedLabelWriter(LabelWriter):
    """A :class:`LabelWriter` for the published map plus a pipeline's
    intermediate maps: ``sample.<maps_field>[name]`` goes to
    ``stage_dir/<name>`` (a :class:`LabelWriter` each, measured against
    the full mask). A sample is resumed only when all its maps exist, and
    the files of :meth:`extra_paths` (what a subclass writes besides)."""

    def __init__(self, out_dir: str, stage_dir: str, names: Sequence[str],
                 maps_field: str, **kwargs) -> None:
        super().__init__(out_dir, **kwargs)
        self.maps_field = maps_field
        self.stages = {
            name: LabelWriter(osp.join(stage_dir, name),
                              resume=kwargs.get('resume', False))
            for name in names
        }

    def extra_paths(self, name: str) -> List[str]:
        """Files of sample ``name`` written besides the label maps."""
        return []

    def keep(self, name: str, sample: SegDataSample) -> bool:
        paths = [self.path(name), *self.extra_paths(name)]
        paths += [w.path(name) for w in self.stages.values()]
        if not (self.resume and all(osp.isfile(p) for p in paths)):
            return False
        for writer in self.stages.values():
            writer.keep(name, sample)
        return super().keep(name, sample)

    def write(self, name: str, sample: SegDataSample,
              labels: np.ndarray) -> None:
        maps = getattr(sample, self.maps_field)
        for stage, writer in self.stages.items():
            writer.write(name, sample, maps[stage])
        super().write(name, sample, labels)


def box_prior(thing_classes: Sequence[int],
              fill: int = 255) -> Callable[[np.ndarray, SegDataSample],
                                           np.ndarray]:
    """A :class:`LabelWriter` ``postprocess``: thing classes predicted
    outside every box of their class become ``fill`` (panoptic paper §3.4,
    :func:`~mmseg_wsss.algorithms.box_labels.clamp_to_boxes`); the boxes
    are the sample's ``gt_instances`` (the labelling pipeline loads
    ``'boxes'``)."""

    def apply(labels: np.ndarray, sample: SegDataSample) -> np.ndarray:
        if 'gt_instances' not in sample:
            raise WeakAnnotationError(
                sample.img_path, sample.metainfo.get('sample_key', '?'),
                'the box prior needs the boxes: load \'boxes\' in the '
                'labelling pipeline (and give the dataset instances_file)')
        boxes = sample.gt_instances
        return clamp_to_boxes(labels, boxes.bboxes.cpu().numpy(),
                              boxes.labels.cpu().numpy(), thing_classes,
                              fill)

    return apply


def sample_name(dataset: BaseDataset, info: dict) -> str:
    """The image path of ``info`` relative to the dataset's image folder,
    without the image suffix."""
    rel = osp.relpath(info['img_path'], dataset.data_prefix['img_path'])
    return rel[:len(rel) - len(dataset.img_suffix)]


def crf_labels(pred: SegDataSample, crf: dict) -> np.ndarray:
    """Arg-max of :func:`~mmseg_wsss.algorithms.crf.dense_crf` (arguments
    ``crf``) on the probabilities of ``pred`` over its image file."""
    scores = pred.seg_logits.data.float().cpu()
    # one map is already a sigmoid in MMSeg's post-processing
    probs = (scores.softmax(0) if len(scores) > 1 else torch.cat(
        [1 - scores, scores]))
    img = mmcv.imread(pred.img_path, 'color_ignore_orientation',
                      channel_order='rgb')
    return dense_crf(img, probs.numpy(), **crf).argmax(0)


def _label_batch(model: torch.nn.Module, dataset: BaseDataset,
                 transforms: Callable[[dict], dict], batch: Sequence[int],
                 writer: LabelWriter, crf: Optional[dict]) -> List[str]:
    """Label the samples ``batch``, those the writer does not keep in one
    forward pass; returns their paths."""
    paths, todo = [], []
    for index in batch:
        info = dataset.get_data_info(index)
        name, data = sample_name(dataset, info), transforms(info)
        paths.append(writer.path(name))
        if not writer.keep(name, data['data_samples']):
            todo.append((name, data))
    if not todo:
        return paths
    with torch.no_grad():
        preds = model.test_step(pseudo_collate([d for _, d in todo]))
    for (name, _), pred in zip(todo, preds):
        labels = (pred.pred_sem_seg.data[0].cpu().numpy()
                  if crf is None else crf_labels(pred, crf))
        writer.write(name, pred, labels.astype(np.uint8))
    return paths


def label_dataset(model: torch.nn.Module,
                  dataset: BaseDataset,
                  writer: LabelWriter,
                  crf: Union[bool, dict, None] = None,
                  indices: Optional[Sequence[int]] = None,
                  pipeline: Optional[Sequence[dict]] = None,
                  batch_size: int = 1,
                  progress: bool = True) -> List[str]:
    """Label the images of ``dataset`` with ``model`` through ``writer``.

    Each sample (``indices``, default all; when distributed, rank ``r`` of
    ``W`` takes the ``r``-th, ``r + W``-th, ... of them) goes through
    ``pipeline`` (default: the dataset's own), which must give the original
    size back through ``ori_shape`` (a test-style pipeline). Unless the
    writer keeps an existing map, ``model.test_step`` predicts it, in
    batches of ``batch_size`` (the images of one batch must share a size),
    and its ``pred_sem_seg``, or with ``crf`` (``True``: the defaults of
    :func:`~mmseg_wsss.algorithms.crf.dense_crf`, or a dict of its
    arguments) the dense-CRF refinement of its ``seg_logits``, is written.
    The model is in eval mode meanwhile; ``progress`` shows a progress bar
    (rank 0). Returns the paths of this rank's maps.
    """
    crf = {} if crf is True else None if crf is False else crf
    rank, world_size = get_dist_info()
    indices = list(range(len(dataset)) if indices is None else
                   indices)[rank::world_size]
    transforms = (dataset.pipeline if pipeline is None else Compose(
        [TRANSFORMS.build(t) for t in pipeline]))
    bar = ProgressBar(len(indices)) if progress and rank == 0 else None
    was_training, paths = model.training, []
    model.eval()
    try:
        for start in range(0, len(indices), batch_size):
            batch = indices[start:start + batch_size]
            paths += _label_batch(model, dataset, transforms, batch, writer,
                                  crf)
            if bar is not None:
                bar.update(len(batch))
    finally:
        model.train(was_training)
    return paths


def staging_dir(final: str, reset: bool = True) -> str:
    """The folder ``.<name>.tmp`` beside ``final`` in which to write it;
    ``reset`` (one process only) makes it afresh and empty, discarding the
    leftover of a crashed attempt."""
    path = osp.join(osp.dirname(final), f'.{osp.basename(final)}.tmp')
    if reset:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
    return path


def resumable_staging(final: str, restart: bool) -> str:
    """The staging folder of ``final`` for a labelling run that resumes:
    emptied with ``restart``; else the leftover of an interrupted run, or a
    copy (hard links) of the published version, whose maps a rerun keeps
    (``LabelWriter(resume=True)``)."""
    staging = staging_dir(final, reset=restart)
    if not osp.isdir(staging):
        if osp.isdir(final):
            shutil.copytree(final, staging, copy_function=os.link)
        else:
            os.makedirs(staging)
    return staging


def publish(staging: str, final: str) -> None:
    """Rename the complete ``staging`` folder to ``final``, replacing an
    older ``final``."""
    shutil.rmtree(final, ignore_errors=True)
    os.rename(staging, final)


def run_shards(job: Callable[[Sequence[int], bool], T], num_samples: int,
               nproc: int) -> List[T]:
    """``job(indices, progress)`` on the ``nproc`` interleaved shards
    ``w, w + nproc, ...`` of ``range(num_samples)``, each in a process of
    its own with one torch thread (all in this process when ``nproc <= 1``);
    shard 0 shows progress. ``job`` (module-level, picklable) typically
    builds the model, dataset and writer, calls :func:`label_dataset` on
    ``indices`` and returns what the caller merges. A job's exception is
    raised here; the pool is then terminated. Returns the results in shard
    order."""
    nproc = max(1, min(nproc, num_samples))
    shards = [(range(w, num_samples, nproc), w == 0) for w in range(nproc)]
    if nproc == 1:
        return [job(*shards[0])]
    with Pool(nproc, torch.set_num_threads, (1, )) as pool:
        return pool.starmap(job, shards)
