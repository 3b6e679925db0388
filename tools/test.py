"""Test a checkpoint: MMSeg's ``tools/test.py`` with mmseg_wsss loaded.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--show-dir DIR] [--cfg-options k=v ...] [--launcher ...] [--tta]

``--show-dir`` saves an overlay (ground truth | prediction) for every image
(our runtime config draws every iteration once drawing is on).

MMSeg's test script builds mmengine's plain ``Runner`` (not the config's
``WSSSRunner``), so a CPU ``--launcher pytorch`` run (``tools/dist_test.sh``)
gets its gloo process group here.
"""
from _mmseg_tool import run

if __name__ == '__main__':
    run('test.py', init_dist=True)
