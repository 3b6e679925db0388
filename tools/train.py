"""Train a segmentor: MMSeg's ``tools/train.py`` with mmseg_wsss loaded.

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
        [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]
"""
from _mmseg_tool import run

if __name__ == '__main__':
    run('train.py')
