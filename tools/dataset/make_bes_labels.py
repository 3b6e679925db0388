"""BES labels for a dataset split (Chen et al., ECCV 2020, §3.1, §4.1):
boundary labels from a CAM classifier, then pseudo labels from its CAMs
and a trained BENet.

    python tools/dataset/make_bes_labels.py boundaries \\
        CAM_CONFIG CAM_CKPT OUT_DIR [--split train] [--nproc 2] \\
        [--theta-fg 0.30 --theta-bg 0.07 --no-crf --window 13 \\
         --theta-scale 0.35 --theta-diff 0.10 --rule authors] \\
        [--restart] [--cfg-options k=v ...]
    python tools/dataset/make_bes_labels.py labels \\
        CAM_CONFIG CAM_CKPT BENET_CONFIG BENET_CKPT OUT_DIR \\
        [--split train] [--nproc 2] [--beta 5 --steps 256 --no-flip \\
         --no-crf --crf sxy_bilateral=20 ...] [--restart] \\
        [--cfg-options k=v ...] [--benet-cfg-options k=v ...]

Both stages run the CAM classifier of CAM_CONFIG (CAMClassifier: the
normalised CAMs of eq. 6-8 at the image size, restricted to the image's
tags) over ``img_dir/<split>`` of its test dataset root, with the tags of
its ``tags_file`` (required: BES learns from image tags) and, where the
split has them, the full masks (to measure the labels only). Per image:

* ``boundaries``: eq. (1) with the dense-CRF refinement of the reliable
  regions, then the boundary regions of eq. (2)-(3)
  (:func:`mmseg_wsss.algorithms.bes.boundary_labels`) ->
  ``OUT_DIR/boundaries/<split>/<id>.png`` (0 / 1 / 2 background /
  foreground / boundary, 255 uncertain): BENet's training labels
  (``data_prefix.boundary_path``, ``configs/bes/bes-benet_*.py``);
* ``labels``: BENet's boundary probability at the image size (averaged
  with the prediction on the flipped image, as the authors' ``infer``,
  unless ``--no-flip``), the random walk of eq. (5) at stride 4 and the
  dense CRF of eq. (9) (:func:`mmseg_wsss.algorithms.bes.
  bes_pseudo_labels`; its ``PSEUDO_LABEL_CRF``: theta_alpha = 20) ->
  ``OUT_DIR/labels/<split>/<id>.png`` (class ids): the pseudo labels of
  ``configs/bes/bes-retrain_*.py`` (``data_prefix.pseudo_path``).

Each stage's label folder is one version, written into
``.<split>.tmp`` beside it and renamed when complete (a failed run
publishes nothing and leaves the previous version in place). Also written,
file by file: the intermediate maps (``<split>_stages/<name>/<id>.png``),
the overlays (``<split>_overlays/<id>.png``; boundaries: image | CAM |
eq. 1 labels | boundary regions (blue background, yellow foreground, red
boundary); labels: image | CAM | boundary probability | random walk |
final) and ``<split>_report.json``: precision / recall / mIoU (%) against
the full masks of every stage (boundaries: CAM arg-max, eq. 1 (+dCRF);
labels: CAM, +random walk, +dCRF; pixel-wise over the split,
``mmseg_wsss.algorithms.LabelQuality``), the boundary label counts, the
settings. Without full masks the report says so and has no metrics.

A rerun resumes: the maps of an interrupted run (or of the published
version) are kept and measured, not recomputed; ``--restart`` remakes
everything. ``--nproc`` processes share the images (one torch thread
each). Bad input stops the run before anything is written, with the file
and sample named: unknown class ids in the tags, an image without tags, a
checkpoint that does not fit its config (for BENet: how many stages its
head fuses against the config's).
"""
import argparse
import copy
import inspect
import json
import os.path as osp
import re
import sys
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint
from mmengine.structures import PixelData
from mmseg.apis import init_model
from mmseg.registry import DATASETS
from mmseg.structures import SegDataSample

from make_seeds import cams_and_seeds, dataset_cfg
from mmseg_wsss.algorithms import LabelQuality
from mmseg_wsss.algorithms.bes import (PSEUDO_LABEL_CRF, bes_pseudo_labels,
                                       boundary_labels)
from mmseg_wsss.algorithms.boundaries import (REGION_BG, REGION_BOUNDARY,
                                              REGION_FG, UNCERTAIN)
from mmseg_wsss.apis import (StagedLabelWriter, label_dataset, load_config,
                             publish, resumable_staging, run_shards)
from mmseg_wsss.datasets import WeakAnnotationError
from mmseg_wsss.utils import atomic_write_json
from mmseg_wsss.visualization import overlay_labels

#: per stage: the intermediate maps kept beside the published one
STAGE_MAPS = {'boundaries': ('cam', 'reliable'), 'labels': ('cam', 'walk')}
#: report names of the class maps (the labels stage's are Table 1's rows;
#: 'eq1' is eq. 1 + dCRF unless --no-crf)
REPORT_NAMES = {'cam': 'cam', 'reliable': 'eq1', 'walk': 'random_walk',
                'labels': 'dcrf'}
REGIONS = {'background': REGION_BG, 'foreground': REGION_FG,
           'boundary': REGION_BOUNDARY, 'uncertain': UNCERTAIN}
REGION_PALETTE = [[0, 0, 255], [255, 255, 0], [255, 0, 0]]


class BadInput(Exception):
    """An input the pipeline cannot use; the message says which and why."""


def _default(fn, name: str):
    return inspect.signature(fn).parameters[name].default


# ------------------------------------------------------------- models
def load_model(cfg: Config, checkpoint: str, what: str) -> nn.Module:
    """The model of ``cfg`` on the CPU with the weights of ``checkpoint``,
    loaded strictly (every parameter present, none extra, same shapes)."""
    if not osp.isfile(checkpoint):
        raise BadInput(f'{what} checkpoint {checkpoint} not found')
    model = init_model(cfg, None, device='cpu')
    try:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                        logger='silent')
    except RuntimeError as e:
        raise BadInput(f'{what} checkpoint {checkpoint} does not fit '
                       f'{cfg.filename}: {str(e).strip()}') from None
    return model.eval()


def load_benet(cfg: Config, checkpoint: str) -> nn.Module:
    """:func:`load_model` for BENet, checking first that the checkpoint's
    head fuses as many backbone stages as the config's
    (``decode_head.in_index``)."""
    if osp.isfile(checkpoint):
        state = _load_checkpoint(checkpoint, map_location='cpu',
                                 logger='silent')
        keys = state.get('state_dict', state)
        found = {m.group(1) for k in keys
                 if (m := re.match(r'(?:module\.)?decode_head\.reduce\.(\d+)'
                                   r'\.', k))}
        wanted = len(cfg.model.decode_head.in_index)
        if found and len(found) != wanted:
            raise BadInput(
                f'BENet checkpoint {checkpoint}: its head fuses '
                f'{len(found)} backbone stages, the config\'s '
                f'{wanted} (decode_head.in_index='
                f'{list(cfg.model.decode_head.in_index)} in '
                f'{cfg.filename}): give the config the checkpoint was '
                'trained with')
    return load_model(cfg, checkpoint, 'BENet')


class BESLabeller(nn.Module):
    """The CAM classifier (and BENet) as one model for
    :func:`~mmseg_wsss.apis.label_dataset`: ``test_step`` returns the CAM
    predictions with ``pred_sem_seg`` the stage's map and ``bes_maps``
    (the intermediate maps) and ``bes_boundary`` (BENet's probability) set
    on each sample."""

    def __init__(self, cam: nn.Module, settings: dict, tags_file: str,
                 benet: Optional[nn.Module] = None, flip: bool = True):
        super().__init__()
        self.cam, self.benet = cam, benet
        self.settings, self.tags_file, self.flip = settings, tags_file, flip
        self.bg_index = cam.decode_head.bg_index

    def boundary(self, data: dict) -> List[torch.Tensor]:
        """BENet's boundary probability per image ``(H, W)`` (MMSeg
        inference at the image size), averaged in logit space with the
        prediction on the flipped image (as the authors' ``infer``)."""
        preds = self.benet.test_step(copy.deepcopy(data))
        def logit(pred: SegDataSample) -> torch.Tensor:
            return torch.logit(pred.seg_logits.data[0], eps=1e-6)

        logits = [logit(p) for p in preds]
        if self.flip:
            flipped = copy.deepcopy(data)
            flipped['inputs'] = [t.flip(-1) for t in flipped['inputs']]
            logits = [(a + logit(p).flip(-1)) / 2 for a, p in zip(
                logits, self.benet.test_step(flipped))]
        return [a.sigmoid() for a in logits]

    def test_step(self, data: dict) -> List[SegDataSample]:
        boundaries = self.boundary(data) if self.benet is not None else None
        preds = self.cam.test_step(data)
        for i, pred in enumerate(preds):
            key = pred.metainfo.get('sample_key', pred.img_path)
            if 'gt_tags' not in pred or not pred.gt_tags.any():
                raise WeakAnnotationError(self.tags_file, key,
                                          'no image tag: BES needs the '
                                          'classes of every image')
            tags = np.flatnonzero(pred.gt_tags.cpu().numpy()).tolist()
            cams = pred.seg_logits.data.float().cpu().numpy()
            img = mmcv.imread(pred.img_path, 'color_ignore_orientation',
                              channel_order='rgb')
            if boundaries is None:
                out = boundary_labels(cams, tags, img, bg_index=self.bg_index,
                                      **self.settings)
                main = out.regions
            else:
                prob = boundaries[i].cpu().numpy()
                out = bes_pseudo_labels(cams, tags, prob, img,
                                        bg_index=self.bg_index,
                                        **self.settings)
                main = out.final
                pred.bes_boundary = prob
            pred.bes_maps = out._asdict()
            pred.pred_sem_seg = PixelData(
                data=torch.from_numpy(main.astype(np.int64))[None])
        return preds


# ------------------------------------------------------------- output
def boundaries_overlay(img: np.ndarray, sample: SegDataSample,
                       regions: np.ndarray, palette: Sequence) -> np.ndarray:
    """image | CAM | eq. (1) labels | boundary regions, RGB."""
    return np.concatenate([
        cams_and_seeds(img, sample, sample.bes_maps['reliable'], palette),
        overlay_labels(img, regions, REGION_PALETTE, alpha=0.7)
    ], 1)


def labels_overlay(img: np.ndarray, sample: SegDataSample,
                   labels: np.ndarray, palette: Sequence) -> np.ndarray:
    """image | CAM | boundary probability | random walk | final, RGB."""
    image, cam, walk = np.split(
        cams_and_seeds(img, sample, sample.bes_maps['walk'], palette), 3, 1)
    grey = np.round(np.clip(sample.bes_boundary, 0, 1) * 255).astype(
        np.uint8)
    return np.concatenate([
        image, cam, np.repeat(grey[..., None], 3, 2), walk,
        overlay_labels(img, labels, palette)
    ], 1)


class StagedWriter(StagedLabelWriter):
    """The stage's published map (``out_dir``) plus its intermediate maps
    (``sample.bes_maps``, under ``stage_dir/<name>``), each measured
    against the full masks; boundary regions are counted instead (they are
    no class map)."""

    def __init__(self, out_dir: str, stage_dir: str, names: Sequence[str],
                 regions: bool, **kwargs) -> None:
        super().__init__(out_dir, stage_dir, names, 'bes_maps', **kwargs)
        self.regions = regions
        self.region_counts = np.zeros(len(REGIONS), dtype=np.int64)

    def measure(self, sample: SegDataSample, labels: np.ndarray) -> None:
        if not self.regions:
            return super().measure(sample, labels)
        self.quality.add(labels)  # images, labelled (not uncertain) pixels
        counts = np.bincount(labels.ravel(), minlength=256)
        self.region_counts += counts[list(REGIONS.values())]

    def results(self) -> Tuple[Dict[str, LabelQuality], np.ndarray, int]:
        """The quality of every class map by name (the intermediate maps,
        and the published one under ``'labels'`` unless it holds boundary
        regions), the region counts and the number of samples."""
        quality = {k: w.quality for k, w in self.stages.items()}
        if not self.regions:
            quality['labels'] = self.quality
        return quality, self.region_counts, self.quality.images


def label_shard(indices: Sequence[int], progress: bool, args: dict,
                staging: str) -> tuple:
    """Make (or keep) the maps of the samples ``indices`` in this process
    (models and dataset built here); return
    :meth:`StagedWriter.results`."""
    cfg = load_config(args['cam_config'], args['cfg_options'])
    dataset = DATASETS.build(dataset_cfg(cfg, args['split']))
    cam = load_model(cfg, args['cam_checkpoint'], 'CAM')
    benet = None
    if args['stage'] == 'labels':
        benet = load_benet(
            load_config(args['benet_config'], args['benet_cfg_options']),
            args['benet_checkpoint'])
    model = BESLabeller(cam, args['settings'], dataset.ann_files['tags'],
                        benet, args['flip'])
    root = osp.join(args['out_dir'], args['stage'])
    split = args['split']
    writer = StagedWriter(
        staging, osp.join(root, f'{split}_stages'),
        STAGE_MAPS[args['stage']], regions=args['stage'] == 'boundaries',
        overlay_dir=osp.join(root, f'{split}_overlays'),
        palette=dataset.metainfo['palette'],
        overlay=(boundaries_overlay if benet is None else labels_overlay),
        resume=not args['restart'])
    label_dataset(model, dataset, writer, indices=indices, progress=progress)
    return writer.results()


# ------------------------------------------------------------- driver
def check_tags(dataset) -> None:
    """Every image has at least one tag (the dataset has already checked
    that the tags name known classes)."""
    path = dataset.ann_files.get('tags')
    if not path:
        raise BadInput('BES needs image tags: the config\'s tags_file '
                       '(weak/tags.json) does not exist under '
                       f'{dataset.data_root}')
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if not info['weak_ann']['tags']:
            raise WeakAnnotationError(path, info['sample_key'],
                                      'no image tag: BES needs the classes '
                                      'of every image')


def settings_of(args: argparse.Namespace) -> dict:
    """The per-image function's keyword arguments from the command line."""
    if args.stage == 'boundaries':
        return dict(theta_fg=args.theta_fg, theta_bg=args.theta_bg,
                    crf=not args.no_crf, window=args.window,
                    theta_scale=args.theta_scale, theta_diff=args.theta_diff,
                    rule=args.rule, bg_score=args.bg_score)
    crf = None if args.no_crf else {**PSEUDO_LABEL_CRF, **(args.crf or {})}
    return dict(beta=args.beta, radius=args.radius, steps=args.steps,
                stride=args.stride, bg_score=args.bg_score, crf=crf)


def report_of(args: argparse.Namespace, quality: Dict[str, LabelQuality],
              counts: np.ndarray, samples: int, final: str) -> dict:
    """The report: samples, settings, region counts, and per class map its
    labelled fraction and, when every sample had a full mask, its
    precision / recall / mIoU in %."""
    report = dict(stage=args.stage, split=args.split, samples=samples,
                  output=final, cam_checkpoint=args.cam_checkpoint,
                  settings=settings_of(args))
    if args.stage == 'labels':
        report.update(benet_checkpoint=args.benet_checkpoint,
                      flip=not args.no_flip)
    else:
        total = max(int(counts.sum()), 1)
        report['boundary_labels'] = {
            name: dict(pixels=int(n), fraction=round(n / total, 4))
            for name, n in zip(REGIONS, counts)
        }
    measured = all(q.fully_measured for q in quality.values())
    if not measured:
        report['quality'] = (f'not measured: no full masks for every image '
                             f'(ann_dir/{args.split})')
    report['stages'] = {}
    for name in quality:
        entry = dict(labelled_fraction=round(quality[name].labelled_fraction,
                                             4))
        if measured:
            scores = quality[name].scores()
            entry.update(precision=round(scores['precision'] * 100, 2),
                         recall=round(scores['recall'] * 100, 2),
                         mIoU=round(scores['IoU'] * 100, 2))
        report['stages'][REPORT_NAMES[name]] = entry
    return report


def run(args: argparse.Namespace) -> dict:
    """Check the inputs, label every sample in ``args.nproc`` processes,
    publish the stage's folder, write and return the report."""
    cfg = load_config(args.cam_config, args.cfg_options)
    dataset = DATASETS.build(dataset_cfg(cfg, args.split))
    if not len(dataset):
        raise WeakAnnotationError(
            osp.join(dataset.data_root, 'img_dir', args.split), '*',
            'no images')
    check_tags(dataset)
    load_model(cfg, args.cam_checkpoint, 'CAM')
    if args.stage == 'labels':
        load_benet(load_config(args.benet_config, args.benet_cfg_options),
                   args.benet_checkpoint)
    final = osp.join(args.out_dir, args.stage, args.split)
    staging = resumable_staging(final, args.restart)
    job = partial(label_shard, staging=staging, args=dict(
        vars(args), settings=settings_of(args), flip=not args.no_flip))
    results = run_shards(job, len(dataset), args.nproc)
    quality = {k: sum((r[0][k] for r in results), LabelQuality())
               for k in results[0][0]}
    counts = sum(r[1] for r in results)
    publish(staging, final)
    report = report_of(args, quality, counts, sum(r[2] for r in results),
                       final)
    atomic_write_json(osp.join(args.out_dir, args.stage,
                               f'{args.split}_report.json'), report,
                      indent=2)
    return report


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--split', default='train')
    common.add_argument('--nproc', type=int, default=2)
    common.add_argument('--restart', action='store_true',
                        help='remake every map instead of resuming')
    common.add_argument('--no-crf', action='store_true',
                        help='skip the dense CRF (eq. 1 / eq. 9)')
    common.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='options of the CAM config')
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='stage', required=True)
    b = sub.add_parser('boundaries', parents=[common],
                       help='boundary labels for BENet (eq. 1-3)')
    b.add_argument('cam_config')
    b.add_argument('cam_checkpoint')
    b.add_argument('out_dir')
    for name in ('theta_fg', 'theta_bg', 'window', 'theta_scale',
                 'theta_diff', 'rule', 'bg_score'):
        value = _default(boundary_labels, name)
        b.add_argument('--' + name.replace('_', '-'), default=value,
                       type=type(value))
    lab = sub.add_parser('labels', parents=[common],
                         help='pseudo labels (eq. 5, random walk, eq. 9)')
    for name in ('cam_config', 'cam_checkpoint', 'benet_config',
                 'benet_checkpoint', 'out_dir'):
        lab.add_argument(name)
    for name in ('beta', 'radius', 'steps', 'stride', 'bg_score'):
        value = _default(bes_pseudo_labels, name)
        lab.add_argument('--' + name.replace('_', '-'), default=value,
                         type=type(value))
    lab.add_argument('--crf', nargs='+', action=DictAction,
                     help='dense CRF arguments over PSEUDO_LABEL_CRF')
    lab.add_argument('--no-flip', action='store_true',
                     help='no flipped-image averaging of the boundary')
    lab.add_argument('--benet-cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    for key in ('benet_config', 'benet_checkpoint', 'crf',
                'benet_cfg_options'):
        setattr(args, key, getattr(args, key, None))
    args.no_flip = getattr(args, 'no_flip', False)
    return args


def main() -> None:
    args = parse_args()
    try:
        report = run(args)
    except (BadInput, WeakAnnotationError) as e:
        sys.exit(f'\nmake_bes_labels {args.stage}: {e}')
    print('\n' + json.dumps(report))
    if isinstance(report.get('quality'), str):
        print(f'make_bes_labels {args.stage}: quality {report["quality"]}')


if __name__ == '__main__':
    main()
