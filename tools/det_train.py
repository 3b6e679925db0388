"""Train a detector (``configs/panoptic/detector``): MMDet's
``tools/train.py`` after :func:`mmseg_wsss.utils.setup_env`.

    python tools/det_train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--amp] [--auto-scale-lr] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

MMDet's command line exactly. The config is an mmdet one
(``default_scope='mmdet'``, mmengine's plain ``Runner``); a distributed
run needs GPUs (``tools/dist_train.sh`` is for the segmentation configs).
"""
from _mmseg_tool import run

if __name__ == '__main__':
    run('train.py', package='mmdet')
