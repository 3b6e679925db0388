"""Label a config's training images with a trained model (DSRG "+Retrain").

    python tools/dataset/label_with_model.py CONFIG CHECKPOINT OUT_DIR
        [--crf [sxy_bilateral=80 srgb=13 ...]] [--batch-size 1]
        [--cfg-options k=v ...]

Runs the model of CONFIG with CHECKPOINT on every image of
``train_dataloader``'s dataset (MMSeg inference at the original size,
optionally refined by a dense CRF: ``--crf`` alone takes the defaults of
:func:`mmseg_wsss.algorithms.crf.dense_crf`) and writes one label PNG per
image to OUT_DIR, laid out as ``data_prefix.pseudo_path`` expects. The
maps are written into ``.<OUT_DIR name>.tmp`` beside it, renamed to
OUT_DIR when complete; an existing OUT_DIR is refused. Train a new model on
them with e.g.
``configs/dsrg/dsrg-retrain_r18-d8-aspp_1k_neu-seg-128x128.py --cfg-options
train_dataloader.dataset.data_prefix.pseudo_path=OUT_DIR`` (absolute). A
DSRG run's ``PseudoLabelRefreshHook(at_end=True)`` does the same at the end
of training.
"""
import argparse
import os.path as osp
import shutil

from mmengine.config import DictAction
from mmseg.apis import init_model
from mmseg.registry import DATASETS

from mmseg_wsss.apis import (IMAGE_PIPELINE, LabelWriter, inner_dataset_cfg,
                             label_dataset, publish, staging_dir)
from mmseg_wsss.utils import register_all_modules, setup_env


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    parser.add_argument('--crf', nargs='*', action=DictAction,
                        help='dense CRF (optionally its arguments)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out_dir = osp.abspath(args.out_dir)
    if osp.exists(out_dir):
        raise SystemExit(f'{out_dir} exists: give a new folder')
    register_all_modules(init_default_scope=False)  # init_model sets it
    setup_env()
    model = init_model(args.config, args.checkpoint, device='cpu',
                       cfg_options=args.cfg_options)
    ds_cfg = inner_dataset_cfg(model.cfg.train_dataloader)
    ds_cfg.data_prefix.pop('pseudo_path', None)  # labels are not read
    dataset = DATASETS.build(ds_cfg)
    staging = staging_dir(out_dir)
    try:
        written = label_dataset(
            model, dataset, LabelWriter(staging, dataset.seg_map_suffix),
            crf=args.crf, pipeline=IMAGE_PIPELINE,
            batch_size=args.batch_size)
    except BaseException:
        shutil.rmtree(staging)
        raise
    publish(staging, out_dir)
    print(f'\n{len(written)} label maps in {out_dir}')


if __name__ == '__main__':
    main()
