"""Deterministic synthetic corrosion-inspection dataset (``demo_corrosion``).

Generates brushed-steel plates with welds, rivets, plate edges, harmless
stains and rust patches, plus the weak labels of the reference datasets, in
their layout. Used for the demo, the tests and the smoke benchmarks; a
128-pixel set of 64 images takes a few seconds. Run it through
``tools/dataset/make_demo_data.py`` (tests import it with tools/dataset on
``sys.path``); it is not part of the runtime package.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
import zlib
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmseg_wsss.algorithms.weak_labels import (class_proportions, image_tags,
                                               simulate_points,
                                               simulate_scribbles)
from mmseg_wsss.utils.io import atomic_write_image, atomic_write_json

CLASSES = ('background', 'corrosion')
PALETTE = [[0, 0, 0], [200, 80, 20]]
IGNORE_INDEX = 255
# Light rust tones (RGB, 0-1): orange, red-brown, ochre, dull and dark brown.
_RUST_TONES = np.array([[0.78, 0.40, 0.14], [0.62, 0.27, 0.13],
                        [0.74, 0.47, 0.20], [0.50, 0.36, 0.26],
                        [0.40, 0.30, 0.24]])
# Non-corrosion stains: grey-brown dirt, tan, reddish clay.
_STAIN_TONES = np.array([[0.45, 0.37, 0.28], [0.58, 0.45, 0.30],
                         [0.55, 0.35, 0.25]])
_CONVERSION = (
    'Images are procedural: a grey steel plate (random tint, often warm) with '
    'brushed texture from anisotropically smoothed noise, an illumination '
    'gradient, and optionally a weld seam with heat tint, a plate edge or a '
    'plate edge with rivets. Smooth brown stains, dark oil smudges and '
    'orange inspection-paint strokes, none of them corrosion, are laid on '
    'top. Zero to four corrosion patches (thresholded noisy blobs, often '
    'seeded on welds, edges or rivets) are painted with an orange, red, '
    'ochre or dull-brown rust texture with grain, grey mill-scale flakes, a '
    'dark rim and pits; the hard patch mask is the label (0 background, 1 '
    'corrosion, no ignore pixels). Weak labels come from '
    'mmseg_wsss.algorithms.weak_labels: scribbles of each width '
    '(simulate_scribbles), 3 points of radius 2 per tagged class '
    "(simulate_points, rng seeded with zlib.crc32('demo_corrosion/<split>/"
    "<id>')), image tags (classes >= 0.1% of the pixels) and class "
    'proportions rounded to 6 decimals.')


def _noise(rng: np.random.Generator, shape: Tuple[int, int], sigma: float,
           sigma_y: Optional[float] = None) -> np.ndarray:
    """Gaussian-smoothed white noise rescaled to zero mean, unit std."""
    field = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32),
                             (0, 0), sigmaX=sigma, sigmaY=sigma_y or sigma)
    return (field - field.mean()) / (field.std() + 1e-6)


def _line_coords(rng: np.random.Generator, size: int
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random line through the image: per-pixel signed distance to it and
    position along it, and its (sin, cos, row, col) parameters."""
    theta = rng.uniform(0, np.pi)
    py, px = rng.uniform(0.2 * size, 0.8 * size, 2)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    across = (xx - px) * -np.sin(theta) + (yy - py) * np.cos(theta)
    along = (xx - px) * np.cos(theta) + (yy - py) * np.sin(theta)
    return across, along, np.array([np.sin(theta), np.cos(theta), py, px])


def _steel(rng: np.random.Generator,
           size: int) -> Tuple[np.ndarray, List[Tuple[int, int]]]:
    """Brushed steel plate (HxWx3 RGB float) and anchor points (row, col)
    of its welds, edges and rivets, where corrosion likes to start."""
    big = 2 * size
    streaks = _noise(rng, (big, big), rng.uniform(6, 14), rng.uniform(0.4, 0.9))
    rot = cv2.getRotationMatrix2D((size, size), rng.uniform(0, 180), 1.0)
    streaks = cv2.warpAffine(streaks, rot, (big, big),
                             borderMode=cv2.BORDER_REFLECT)
    streaks = streaks[size // 2:size // 2 + size, size // 2:size // 2 + size]
    across = _line_coords(rng, size)[0]
    light = (1 + rng.uniform(0.05, 0.2) * across / size +
             rng.uniform(0.03, 0.08) * _noise(rng, (size, size), size / 4))
    grey = (rng.uniform(0.38, 0.68) + rng.uniform(0.03, 0.07) * streaks +
            0.02 * _noise(rng, (size, size), 0.6)) * light
    tint = rng.normal(0, 0.035, 3)
    if rng.random() < 0.4:  # warm, slightly brownish steel
        tint += np.array([0.09, 0.03, -0.09]) * rng.uniform(0.5, 1.5)
    img = grey[..., None] * (1 + tint)
    anchors = []
    kind = rng.integers(0, 4)  # 0 plain, 1 weld, 2 plate edge, 3 edge+rivets
    if kind == 1:
        across, along, line = _line_coords(rng, size)
        half = rng.uniform(3, 5)
        bead = np.exp(-(across / half) ** 2)
        ripple = 0.5 + 0.5 * np.cos(2 * np.pi * along / rng.uniform(3, 5) +
                                    0.15 * across ** 2)
        img = img * (1 + (0.25 * ripple - 0.05) * bead)[..., None]
        heat = np.exp(-(across / (3.5 * half)) ** 2) * (1 - bead)
        img += heat[..., None] * rng.uniform(0, 0.08) * np.array([1, 0.5, -0.4])
        anchors += [tuple(p) for p in np.argwhere(np.abs(across) < 1)[::9]]
    elif kind >= 2:
        across, along, line = _line_coords(rng, size)
        step_light = np.where(across > 0, rng.uniform(0.85, 1.15), 1.0)
        img = img * step_light[..., None]
        img = img * (1 - 0.6 * np.exp(-(across / 1.2) ** 2))[..., None]
        anchors += [tuple(p) for p in np.argwhere(np.abs(across) < 1)[::12]]
        if kind == 3:
            offset, step = rng.uniform(7, 12), rng.uniform(18, 28)
            radius = rng.uniform(2.5, 4.5)
            sin, cos, py, px = line
            yy, xx = np.ogrid[:size, :size]
            for t in np.arange(-size, size, step):
                cy = py + t * sin + offset * cos
                cx = px + t * cos - offset * sin
                if not (0 <= cy < size and 0 <= cx < size):
                    continue
                dy, dx = (yy - cy) / radius, (xx - cx) / radius
                dome = (dy ** 2 + dx ** 2) < 1
                shade = np.where(dome, 1.05 - 0.3 * (dy + dx), 1.0)
                ring = np.abs(np.hypot(dy, dx) - 1) < 0.3
                img = img * (shade * np.where(ring, 0.6, 1.0))[..., None]
                anchors.append((int(cy), int(cx)))
    return img, anchors


def _stains(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Lay smooth brown stains, dark oil smudges and orange paint marks,
    none of them corrosion."""
    size = img.shape[0]
    yy, xx = np.mgrid[:size, :size]
    for _ in range(rng.integers(0, 4)):
        cy, cx = rng.uniform(0, size, 2)
        r = rng.uniform(0.06, 0.2) * size
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        blob *= 1 + 0.5 * _noise(rng, (size, size), r / 3)
        blob = np.clip(blob, 0, 1)
        if rng.random() < 0.7:
            color = _STAIN_TONES[rng.integers(len(_STAIN_TONES))]
            color = color * rng.uniform(0.8, 1.2)
        else:
            color = np.full(3, rng.uniform(0.1, 0.2))
        alpha = (rng.uniform(0.3, 0.75) * blob)[..., None]
        img = img * (1 - alpha) + color * alpha
    if rng.random() < 0.25:  # inspection paint mark: smooth, sharp-edged
        across = _line_coords(rng, size)[0]
        stroke = cv2.GaussianBlur(
            (np.abs(across) < rng.uniform(1.5, 3.5)).astype(np.float32),
            (0, 0), 0.6)[..., None]
        color = np.array([0.85, 0.45, 0.12]) * rng.uniform(0.8, 1.1)
        img = img * (1 - stroke) + color * stroke
    return img


def _corrosion_mask(rng: np.random.Generator, size: int,
                    anchors: List[Tuple[int, int]]) -> np.ndarray:
    """Union of 0-4 irregular, rough-edged blobs (bool HxW)."""
    mask = np.zeros((size, size), dtype=bool)
    n_regions = 0 if rng.random() < 0.08 else rng.integers(1, 5)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(n_regions):
        if anchors and rng.random() < 0.5:
            cy, cx = anchors[rng.integers(len(anchors))]
        else:
            cy, cx = rng.uniform(0, size, 2)
        r = rng.uniform(0.07, 0.2) * size
        theta, aspect = rng.uniform(0, np.pi), rng.uniform(1, 2.5)
        u = (xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta)
        v = (yy - cy) * np.cos(theta) - (xx - cx) * np.sin(theta)
        field = 1 - np.hypot(u / aspect, v) / r
        field += 0.45 * _noise(rng, (size, size), r / 3)
        field += 0.15 * _noise(rng, (size, size), 1.2)
        mask |= field > 0
    return mask


def _paint_rust(rng: np.random.Generator, img: np.ndarray,
                mask: np.ndarray) -> np.ndarray:
    """Paint a textured, pitted rust layer over ``mask``."""
    if not mask.any():
        return img
    size = img.shape[0]
    light = (_RUST_TONES[rng.integers(len(_RUST_TONES))] * rng.uniform(0.8, 1.1)
             + rng.normal(0, 0.03, 3))
    dark = light * rng.uniform(0.35, 0.6)
    mix = np.clip(0.5 + 0.35 * _noise(rng, (size, size), 1.5) +
                  0.25 * _noise(rng, (size, size), 5), 0, 1)[..., None]
    rust = dark + (light - dark) * mix
    rust *= (1 + 0.12 * _noise(rng, (size, size), 0.5))[..., None]
    scale = rng.uniform(0, 0.9) * np.clip(  # greyish mill-scale flakes
        0.4 + 0.4 * _noise(rng, (size, size), 3), 0, 1)[..., None]
    rust += (rust.mean(axis=2, keepdims=True) - rust) * scale
    pits = np.zeros((size, size), np.float32)
    spots = np.argwhere(mask)
    spots = spots[rng.choice(len(spots), size=len(spots) // 40 + 1)]
    pits[spots[:, 0], spots[:, 1]] = 1
    pits = np.clip(cv2.GaussianBlur(pits, (0, 0), 0.8) * 4, 0, 1)
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    rim = np.where(inside < 2, 0.75, 1.0)
    rust *= ((1 - 0.6 * pits) * rim)[..., None]
    rust *= img.mean(axis=2, keepdims=True) / max(img.mean(), 1e-3)  # shading
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.7)
    alpha = np.clip(alpha * rng.uniform(0.75, 1.0) +
                    0.1 * _noise(rng, (size, size), 2) * mask, 0, 1)[..., None]
    return img * (1 - alpha) + rust * alpha


def _make_sample(rng: np.random.Generator,
                 size: int) -> Tuple[np.ndarray, np.ndarray]:
    """One image (BGR uint8) and its label map (uint8, 0/1)."""
    img, anchors = _steel(rng, size)
    img = _stains(rng, img)
    mask = _corrosion_mask(rng, size, anchors)
    img = _paint_rust(rng, img, mask)
    img += 0.012 * rng.standard_normal(img.shape)
    bgr = np.clip(img[..., ::-1] * 255 + 0.5, 0, 255).astype(np.uint8)
    return bgr, mask.astype(np.uint8)


def _progress(items: List, enabled: bool) -> Iterable:
    """Wrap ``items`` with tqdm when available, else print a line per 16."""
    if not enabled:
        return items
    try:
        from tqdm import tqdm
        return tqdm(items, desc='demo_corrosion')
    except ImportError:
        def printing():
            for i, item in enumerate(items):
                if i % 16 == 0 or i == len(items) - 1:
                    print(f'demo_corrosion: {i + 1}/{len(items)}', flush=True)
                yield item
        return printing()


def make_demo_corrosion(out_dir: str, num_train: int = 48, num_val: int = 16,
                        size: int = 128, seed: int = 0,
                        widths: Sequence[int] = (2, 5, 10, 20),
                        progress: bool = True,
                        overwrite: bool = False) -> str:
    """Generate the ``demo_corrosion`` dataset into ``out_dir``; return it.

    Layout (as the reference datasets): ``img_dir/{split}/<id>.jpg``,
    ``ann_dir/{split}/<id>.png`` (0 background, 1 corrosion),
    ``weak/scribbles_w<w>/{split}/<id>.png``, ``weak/points/{split}/<id>.png``,
    ``weak/tags.json``, ``weak/proportions.json`` and ``meta.json``. Sample
    ``i`` of split ``s`` uses ``np.random.default_rng([seed, s, i])``, so the
    output is fully determined by the parameters. Everything is written into
    a temporary sibling directory renamed onto ``out_dir`` at the end. An
    existing ``out_dir`` generated with the same parameters is returned as
    is; one with other parameters raises ``FileExistsError`` unless
    ``overwrite`` is set.
    """
    out_dir = osp.abspath(out_dir)
    params = dict(num_train=num_train, num_val=num_val, size=size, seed=seed,
                  widths=[int(w) for w in widths])
    if osp.exists(out_dir):
        meta_file = osp.join(out_dir, 'meta.json')
        if osp.isfile(meta_file):
            with open(meta_file) as f:
                if json.load(f).get('generator') == params:
                    return out_dir
        if not overwrite:
            raise FileExistsError(
                f'{out_dir} exists and was not generated with {params}; '
                'pass overwrite=True (--overwrite) to replace it')
    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f'.{osp.basename(out_dir)}.')
    os.chmod(tmp, 0o755)
    try:
        _write_dataset(tmp, params, progress)
        if osp.exists(out_dir):
            old = tempfile.mkdtemp(dir=parent, prefix='.old.')
            os.replace(out_dir, osp.join(old, 'data'))
            os.replace(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out_dir)
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp)
    return out_dir


def _write_dataset(root: str, params: Dict, progress: bool) -> None:
    """Write every sample, the weak labels and ``meta.json`` under ``root``."""
    counts = {'train': params['num_train'], 'val': params['num_val']}
    jobs = [(split_idx, split, i) for split_idx, split in enumerate(counts)
            for i in range(counts[split])]
    tags, proportions = {}, {}
    for split_idx, split, i in _progress(jobs, progress):
        sid = f'{i:05d}'
        rng = np.random.default_rng([params['seed'], split_idx, i])
        img, mask = _make_sample(rng, params['size'])
        atomic_write_image(osp.join(root, 'img_dir', split, f'{sid}.jpg'), img)
        atomic_write_image(osp.join(root, 'ann_dir', split, f'{sid}.png'), mask)
        for w in params['widths']:
            atomic_write_image(
                osp.join(root, 'weak', f'scribbles_w{w}', split, f'{sid}.png'),
                simulate_scribbles(mask, w, len(CLASSES)))
        point_rng = np.random.default_rng(
            zlib.crc32(f'demo_corrosion/{split}/{sid}'.encode()))
        atomic_write_image(
            osp.join(root, 'weak', 'points', split, f'{sid}.png'),
            simulate_points(mask, len(CLASSES), rng=point_rng))
        key = f'{split}/{sid}'
        tags[key] = image_tags(mask, len(CLASSES)).tolist()
        proportions[key] = [
            round(float(p), 6) for p in class_proportions(mask, len(CLASSES))
        ]
    atomic_write_json(osp.join(root, 'weak', 'tags.json'), tags)
    atomic_write_json(osp.join(root, 'weak', 'proportions.json'), proportions)
    atomic_write_json(
        osp.join(root, 'meta.json'),
        dict(name='demo_corrosion', classes=list(CLASSES), palette=PALETTE,
             ignore_index=IGNORE_INDEX,
             # the generator's former module name, kept so that sets made
             # before and after the move are byte-identical
             source='generated by mmseg_wsss.datasets.demo_corrosion '
             f'(seed {params["seed"]})',
             license='CC0 (synthetic)', conversion=_CONVERSION,
             counts=counts, generator=params),
        indent=2)
