"""mmseg_wsss: weakly-supervised semantic segmentation for MMSegmentation."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list:
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


version = re.search(r"__version__ = '([^']+)'",
                    (HERE / 'mmseg_wsss' / '__init__.py').read_text()).group(1)

setup(
    name='mmseg_wsss',
    version=version,
    description='Weakly-supervised semantic segmentation (scribbles, points, '
    'tags, proportions, boxes) for MMSegmentation 1.x',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'bench', 'configs', 'tools')),
    python_requires='>=3.8',
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
    zip_safe=False,
)
