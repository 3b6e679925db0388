"""Generate the synthetic ``demo_corrosion`` dataset.

Usage (from the repository root, package installed)::

    python tools/dataset/make_demo_data.py [data/demo_corrosion] [--seed 0]

The generator itself is ``demo_corrosion.py`` beside this script.
"""
import argparse

from demo_corrosion import make_demo_corrosion


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', nargs='?', default='data/demo_corrosion',
                        help='output directory (default: %(default)s)')
    parser.add_argument('--num-train', type=int, default=48)
    parser.add_argument('--num-val', type=int, default=16)
    parser.add_argument('--size', type=int, default=128,
                        help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing set made with other params')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(make_demo_corrosion(args.out_dir, num_train=args.num_train,
                              num_val=args.num_val, size=args.size,
                              seed=args.seed, overwrite=args.overwrite))


if __name__ == '__main__':
    main()
