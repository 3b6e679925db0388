"""Test a detector checkpoint: MMDet's ``tools/test.py`` after
:func:`mmseg_wsss.utils.setup_env` (COCO bbox mAP of the config's
``test_evaluator``).

    python tools/det_test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out FILE.pkl] [--show-dir DIR] [--cfg-options k=v ...]
        [--launcher ...] [--tta]

MMDet's command line exactly; a distributed run needs GPUs. For the
detections the segmentation side reads, see
``tools/dataset/make_detections.py``.
"""
from _mmseg_tool import run

if __name__ == '__main__':
    run('test.py', package='mmdet')
