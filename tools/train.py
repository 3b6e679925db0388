"""Train a segmentor: MMSeg's ``tools/train.py`` with mmseg_wsss loaded.

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
        [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]
        [--check-data]

``--check-data`` first reads every image and annotation of the config's
train and val datasets (``tools/dataset/check_dataset.py``: class ids, map
sizes and formats, 2 processes) and stops at the first bad sample, before
any training; without it the runtime's ``DatasetCheckHook`` still checks
the class count and every map's size (file headers) at start-up, and class
ids are checked when a map is first loaded.
"""
import sys

from _mmseg_tool import check_data, run

if __name__ == '__main__':
    if '--check-data' in sys.argv:
        sys.argv.remove('--check-data')
        check_data(sys.argv[1:], ('train', 'val'))
    run('train.py')
