"""DSRG (paper 001_3db5c5196e8e9aa2) on this CPU in the shape of its Table 2,
per dataset (neu_seg: class 0 background; camvid: no background class):

1. the CAM classifier (``configs/dsrg/cam_r18-d8_1k_<ds>-160x160.py``)
   trained on the image tags and its seed cues for the train split
   (``tools/dataset/make_seeds.py``), with their precision / recall / IoU
   against the full masks;
2. the rows, same network and schedule, each trained from scratch and tested
   on the val split (mIoU, mPrec, mRec, F1, seconds per iteration, mIoU over
   the ``full`` row's): ``seeds`` (SEC seed loss on the static seeds),
   ``+BSL`` (balanced seeding loss), ``+DSRG`` (growing + BSL + CRF boundary
   loss: ``dsrg_r18-d8-aspp_1k_<ds>-128x128.py``), ``+Retrain`` (the retrain
   config ``dsrg-retrain_r18-d8-aspp_1k_<ds>-128x128.py`` on the
   labels that the +DSRG run writes at its end) and ``full`` (the retrain
   config on the full masks);
3. the +DSRG run's supervision quality along training (Fig. 4): precision /
   recall / IoU of the grown labels and of the seeds vs the full masks;
4. the training-step time of DSRG over the same network trained with the
   balanced seeding loss alone (no growing, no boundary loss), steps
   interleaved in one process on one real neu_seg batch of the DSRG train
   pipeline (neu_seg's seeds needed), medians (target <= 1.25).

Every network is MMSeg's ResNetV1c-18 (d8) with ``--base-channels`` as stem
and first-stage width (64: the configs' network) and its head scaled along
(CAM / ASPP ``in_channels`` 8x, ASPP ``channels`` 2x).

    python bench/bench_dsrg.py [--iters 1000] [--base-channels 16]
        [--datasets neu_seg camvid] [--rows seeds +BSL +DSRG +Retrain full]
        [--steps 20] [--name dsrg]

Resumable: a training in bench/results/work_dirs/<name>/b<B>_i<N>/<ds>/ with
a ``last_checkpoint`` is not redone (one without restarts from scratch), a
test already run is read back, seeds already written are kept. Prints the
tables; writes bench/results/<name>.json after every stage.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import statistics
import sys
from typing import Callable, Dict, List, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import load_checkpoint
from mmseg.registry import DATASETS, MODELS

from common import (REPO, RESULTS, SHARED_DATA, dataset_options,
                    interleaved_step_times, last_run_json, print_table,
                    run_tool, save_json, setup_mmseg_wsss, train_iter_times,
                    train_scalars)

# configs/dsrg/ by kind, ``{ds}`` the dataset as in the file names
CONFIGS = dict(cam='cam_r18-d8_1k_{ds}-160x160.py',
               dsrg='dsrg_r18-d8-aspp_1k_{ds}-128x128.py',
               retrain='dsrg-retrain_r18-d8-aspp_1k_{ds}-128x128.py')
# row -> (config kind, cfg-options, labels trained on)
ROWS = {
    'seeds': ('dsrg', ['model.steps=[]', 'model.loss_weak.0.target=pseudo',
                       'model.loss_weak.0.bg_index=None'], 'seeds'),
    '+BSL': ('dsrg', ['model.steps=[]',
                      'model.loss_weak.0.target=pseudo'], 'seeds'),
    '+DSRG': ('dsrg', [], 'seeds'),
    '+Retrain': ('retrain', [], 'dsrg'),
    'full': ('retrain', [], 'full'),
}
METRICS = ('mIoU', 'mPrec', 'mRec', 'F1')


def config(kind: str, ds: str) -> str:
    """The ``kind`` config of dataset ``ds`` (``neu_seg``, ``camvid``)."""
    return 'configs/dsrg/' + CONFIGS[kind].format(ds=ds.replace('_', '-'))


def network(b: int, aspp: bool) -> Dict[str, int]:
    """Model options of a ResNetV1c-18 of width ``b`` and its head."""
    opts = {'model.backbone.stem_channels': b,
            'model.backbone.base_channels': b,
            'model.decode_head.in_channels': 8 * b}
    if aspp:
        opts['model.decode_head.channels'] = 2 * b
    return opts


def cli(opts: Dict[str, object]) -> List[str]:
    return [f'{k}={v}' for k, v in opts.items()]


def schedule(ds: str, iters: int) -> List[str]:
    """Data root and schedule; short runs (smoke tests) log more often and
    shorten the 50-iteration warm-up."""
    log, warm = max(1, min(20, iters // 4)), min(50, iters // 2)
    return dataset_options(ds, iters) + [
        f'default_hooks.logger.interval={log}',
        f'param_scheduler.0.end={warm}', f'param_scheduler.1.begin={warm}']


def trained(cfg: str, work: str, opts: List[str]) -> str:
    """Train ``cfg`` into ``work`` unless done there; its checkpoint."""
    done = osp.join(work, 'last_checkpoint')
    if not osp.isfile(done):
        shutil.rmtree(work, ignore_errors=True)  # an interrupted run
        run_tool(['tools/train.py', cfg, '--work-dir', work,
                  '--cfg-options', *opts])
    with open(done) as f:
        return f.read().strip()


def iter_s(work: str) -> float:
    return round(statistics.median(train_iter_times(work)), 4)


def tested(cfg: str, work: str, opts: List[str]) -> Tuple[str, dict]:
    """Train ``cfg`` into ``work`` and test its checkpoint, each unless
    done there; the checkpoint and the test metrics."""
    ckpt = trained(cfg, work, opts)
    if not any(osp.isfile(osp.join(work, d, f'{d}.json'))
               for d in os.listdir(work)):
        run_tool(['tools/test.py', cfg, ckpt, '--work-dir', work,
                  '--cfg-options', *opts])
    return ckpt, last_run_json(work)


def train_test(cfg: str, work: str, opts: List[str]) -> dict:
    _, m = tested(cfg, work, opts)
    scores = (m['mIoU'], m['mPrecision'], m['mRecall'], m['F1'])
    return dict(**{k: round(v, 2) for k, v in zip(METRICS, scores)},
                iter_s=iter_s(work))


def make_seeds(ds: str, work: str, opts: List[str]) -> dict:
    """CAM training + seeds of the train split, and their report."""
    cfg = config('cam', ds)
    ckpt = trained(cfg, osp.join(work, 'cam'), opts)
    out = osp.join(work, 'seeds')
    if not osp.isfile(osp.join(out, 'train_report.json')):
        run_tool(['tools/dataset/make_seeds.py', cfg, ckpt, out, '--split',
                  'train', '--cfg-options', *opts])
    with open(osp.join(out, 'train_report.json')) as f:
        report = json.load(f)
    return dict(dir=osp.join(out, 'train'),
                cam_iter_s=iter_s(osp.join(work, 'cam')),
                **{k: report.get(k) for k in ('labelled_fraction',
                                               'precision', 'recall', 'IoU')})


def quality_curve(work: str) -> List[dict]:
    """SupervisionQualityHook's scalars of the run in ``work``, in %."""
    return [dict(iter=rec['step'], **{
        k.replace('supervision/', '').replace('seeds/', 'seeds_'):
        round(100 * v, 2) for k, v in rec.items()
        if k.startswith(('supervision/', 'seeds/'))})
        for rec in train_scalars(work) if 'supervision/IoU' in rec]


def run_dataset(ds: str, args: argparse.Namespace, work: str, out: dict,
                save: Callable[[], None]) -> None:
    """Seeds, then the rows of ``ds`` into ``out``, saved after each."""
    b = args.base_channels
    opts = schedule(ds, args.iters)
    out['seeds'] = make_seeds(ds, work, opts + cli(network(b, False)))
    save()
    quality = max(1, min(50, args.iters // 4))
    labels = dict(seeds=out['seeds']['dir'],
                  dsrg=osp.join(work, 'row_dsrg', 'pseudo_labels', 'v1'),
                  full=osp.join(SHARED_DATA, ds, 'ann_dir', 'train'))
    for row in args.rows:
        kind, extra, source = ROWS[row]
        if not osp.isdir(labels[source]):
            sys.exit(f'{row}: no labels in {labels[source]} (train +DSRG)')
        row_opts = opts + cli(network(b, True)) + extra + [
            f'custom_hooks.0.interval={quality}',
            f'train_dataloader.dataset.data_prefix.pseudo_path='
            f'{labels[source]}']
        row_work = osp.join(work, 'row_' + row.lstrip('+').lower())
        out['rows'][row] = train_test(config(kind, ds), row_work, row_opts)
        if row == '+DSRG':
            out['quality'] = quality_curve(row_work)
        print(ds, row, json.dumps(out['rows'][row]), flush=True)
        save()


def speed(b: int, steps: int, work: str) -> dict:
    """Median step seconds of DSRG and of BSL-only training, interleaved:
    same network, both from the +DSRG run's weights when trained (growing
    costs more on a confident network), on one real neu_seg batch of the
    DSRG train pipeline."""
    cfg = Config.fromfile(osp.join(REPO, config('dsrg', 'neu_seg')))
    cfg.merge_from_dict({
        **network(b, True),
        'train_dataloader.dataset.data_root': osp.join(SHARED_DATA, 'neu_seg'),
        'train_dataloader.dataset.data_prefix.pseudo_path': osp.join(
            work, 'seeds', 'train')})
    setup_mmseg_wsss()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    data = pseudo_collate(
        [dataset[i] for i in range(cfg.train_dataloader.batch_size)])
    done = osp.join(work, 'row_dsrg', 'last_checkpoint')
    models = {}
    bsl_only = dict(steps=[], loss_weak=[
        dict(type='BalancedSeedLoss', target='pseudo',
             bg_index=cfg.model.loss_weak[0].bg_index)])
    for name, opts in (('BSL only', bsl_only), ('DSRG', {})):
        torch.manual_seed(0)
        model = MODELS.build({**cfg.model, **opts})
        if osp.isfile(done):
            with open(done) as f:
                load_checkpoint(model, f.read().strip(), map_location='cpu')
        models[name] = (model, torch.optim.AdamW(model.parameters(), 1e-3))
    st = interleaved_step_times(models, data, steps)
    return {**{f'step_s {k}': round(v, 4) for k, v in st.items()},
            'DSRG / BSL only': round(st['DSRG'] / st['BSL only'], 3),
            'steps': steps,
            'weights': '+DSRG run' if osp.isfile(done) else 'random init'}


def print_tables(result: dict) -> None:
    rows, seeds, curve = [], [], []
    for ds, r in result['datasets'].items():
        full = r['rows'].get('full')
        for row, m in r['rows'].items():
            m['weak_full'] = round(m['mIoU'] / full['mIoU'], 3) \
                if full and full['mIoU'] else None
            rows.append(dict(dataset=ds, row=row, **m))
        seeds.append(dict(dataset=ds, **r['seeds']))
        curve += [dict(dataset=ds, **q) for q in r.get('quality', [])]
    print_table(seeds, ['dataset', 'labelled_fraction', 'precision',
                        'recall', 'IoU', 'cam_iter_s'])
    print()
    print_table(rows, ['dataset', 'row', *METRICS, 'iter_s', 'weak_full'])
    print()
    if curve:
        print_table(curve, list(curve[0]))
        print()
    if 'speed' in result:
        print_table([dict(measure=k, value=v)
                     for k, v in result['speed'].items()],
                    ['measure', 'value'])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=1000)
    parser.add_argument('--base-channels', type=int, default=16,
                        help='ResNetV1c-18 width (64: the configs\')')
    parser.add_argument('--datasets', nargs='+',
                        default=['neu_seg', 'camvid'])
    parser.add_argument('--rows', nargs='+', default=list(ROWS),
                        choices=list(ROWS))
    parser.add_argument('--steps', type=int, default=20,
                        help='timed training steps (0: no speed test)')
    parser.add_argument('--name', default='dsrg',
                        help='JSON and work-dir name under bench/results')
    args = parser.parse_args()
    setup = dict(iters=args.iters, base_channels=args.base_channels)
    work = osp.join(RESULTS, 'work_dirs', args.name,
                    f'b{args.base_channels}_i{args.iters}')
    path = osp.join(RESULTS, f'{args.name}.json')
    result = dict(**setup, datasets={})
    if osp.isfile(path):
        with open(path) as f:
            old = json.load(f)
        if all(old.get(k) == v for k, v in setup.items()):
            result = old

    def save() -> None:
        save_json(f'{args.name}.json', result)

    for ds in args.datasets:
        out = result['datasets'].setdefault(ds, dict(rows={}))
        run_dataset(ds, args, osp.join(work, ds), out, save)
    if args.steps and osp.isdir(osp.join(work, 'neu_seg', 'seeds')):
        result['speed'] = speed(args.base_channels, args.steps,
                                osp.join(work, 'neu_seg'))
        save()
    print_tables(result)
    save()
    print('saved', path)


if __name__ == '__main__':
    main()
