"""Make ``data/<set>`` point at the shared datasets.

Configs read their sets from ``data/<set>`` (MMSeg's convention, relative to
the repository root). Where the sets live elsewhere (here:
``../shared/data/<set>``, or ``$MMSEG_WSSS_DATA/<set>``), this links each
missing ``data/<set>`` to it; an existing ``data/<set>`` (a folder or a
link) is left alone. The tests and the benchmarks call it first.

    python tools/dataset/link_shared_data.py [SHARED_DIR] [--sets a b ...]
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED_DATA = os.environ.get(
    'MMSEG_WSSS_DATA', osp.join(osp.dirname(REPO), 'shared', 'data'))


def link_shared_data(shared: Optional[str] = None,
                     sets: Optional[Sequence[str]] = None,
                     data_dir: Optional[str] = None) -> List[str]:
    """Link ``data_dir/<set>`` (default ``<repo>/data``) to ``shared/<set>``
    (default ``SHARED_DATA``) for every set folder in ``shared`` (or the
    ``sets`` named) that ``data_dir`` lacks. Returns the links made; a
    missing ``shared`` makes none."""
    shared = osp.abspath(shared or SHARED_DATA)
    data_dir = data_dir or osp.join(REPO, 'data')
    if not osp.isdir(shared):
        return []
    if sets is None:
        sets = sorted(d for d in os.listdir(shared)
                      if osp.isdir(osp.join(shared, d)))
    made = []
    for name in sets:
        target, link = osp.join(shared, name), osp.join(data_dir, name)
        if osp.lexists(link) or not osp.isdir(target):
            continue
        os.makedirs(data_dir, exist_ok=True)
        try:
            os.symlink(osp.relpath(target, data_dir), link,
                       target_is_directory=True)
        except FileExistsError:  # made meanwhile by another process
            continue
        made.append(link)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('shared', nargs='?', default=SHARED_DATA,
                        help='folder holding the sets (default: %(default)s)')
    parser.add_argument('--sets', nargs='+', help='only these sets')
    args = parser.parse_args()
    for link in link_shared_data(args.shared, args.sets):
        print(f'{link} -> {os.readlink(link)}')


if __name__ == '__main__':
    main()
