"""Simulated weak labels derived from full segmentation masks.

Plain numpy / scipy / scikit-image functions used to build the weak
annotations of the project's datasets: image-level tags, class proportions,
scribbles of a given width and point clicks. Every map returned uses the class
id on labelled pixels and ``ignore_index`` (255) everywhere else.
"""
from typing import Optional

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, shortest_path
from skimage.morphology import disk, skeletonize

_EIGHT = np.ones((3, 3), dtype=bool)
_SCRIBBLE_KEEP = 0.6  # a path longer than this fraction of its skeleton is cut
_MIN_RECOVERED = 0.5  # fall back to the raw skeleton below this area recovery


def class_proportions(mask: np.ndarray, num_classes: int,
                      ignore_index: int = 255) -> np.ndarray:
    """Fraction of the non-ignore pixels taken by each class.

    Returns a float64 array of shape ``(num_classes,)``; all zeros when the
    mask has no valid pixel. Values outside ``[0, num_classes)`` other than
    ``ignore_index`` are not counted.
    """
    valid = mask[(mask != ignore_index) & (mask < num_classes)]
    counts = np.bincount(valid.ravel().astype(np.int64),
                         minlength=num_classes)[:num_classes]
    return counts / max(valid.size, 1)


def image_tags(mask: np.ndarray, num_classes: int, min_fraction: float = 1e-3,
               ignore_index: int = 255) -> np.ndarray:
    """Sorted ids of the classes covering at least ``min_fraction`` of the
    non-ignore pixels (and at least one pixel)."""
    props = class_proportions(mask, num_classes, ignore_index)
    return np.flatnonzero((props > 0) & (props >= min_fraction))


def _dist_inside(region: np.ndarray) -> np.ndarray:
    """Euclidean distance of each pixel of ``region`` to the nearest pixel
    outside it, the image border counting as outside."""
    return ndimage.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]


def _largest_piece(binary: np.ndarray) -> np.ndarray:
    """Largest 8-connected component of ``binary`` (lowest label on ties)."""
    labels, n = ndimage.label(binary, structure=_EIGHT)
    if n <= 1:
        return labels > 0
    return labels == np.argmax(np.bincount(labels.ravel())[1:]) + 1


def _component_skeleton(comp: np.ndarray, radius: int) -> np.ndarray:
    """Largest skeleton piece of ``comp`` eroded by ``disk(radius)``, or of
    ``comp`` itself when the erosion empties it or loses its shape."""
    eroded = _dist_inside(comp) > radius
    if eroded.any():
        skel = _largest_piece(skeletonize(eroded))
        pieces, _ = ndimage.label(eroded, structure=_EIGHT)
        carrier = pieces == pieces[skel][0]
        recovered = ndimage.distance_transform_edt(~carrier) <= radius
        if recovered.sum() >= _MIN_RECOVERED * comp.sum():
            return skel
    return _largest_piece(skeletonize(comp))


def _longest_path(skel: np.ndarray) -> np.ndarray:
    """(row, col) coordinates, in order, of the longest geodesic path of an
    8-connected skeleton, found by a double Dijkstra sweep."""
    coords = np.argwhere(skel)
    n = len(coords)
    if n == 1:
        return coords
    index = np.full(skel.shape, -1, dtype=np.int64)
    index[skel] = np.arange(n)
    padded = np.pad(index, 1, constant_values=-1)
    height, width = skel.shape
    rows, cols, weights = [], [], []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        nbr = padded[1 + dr:1 + dr + height, 1 + dc:1 + dc + width]
        src, dst = index[skel], nbr[skel]
        keep = dst >= 0
        rows.append(src[keep])
        cols.append(dst[keep])
        weights.append(np.full(keep.sum(), np.hypot(dr, dc)))
    graph = coo_matrix((np.concatenate(weights),
                        (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n, n)).tocsr()
    start = int(np.argmax(dijkstra(graph, directed=False, indices=0)))
    dist, pred = dijkstra(graph, directed=False, indices=start,
                          return_predecessors=True)
    end = int(np.argmax(dist))
    # Nodes of the shortest-path tree on its unique start-end path: hop
    # counts on a tree add up exactly, so no per-node tracing is needed.
    child = np.flatnonzero(pred >= 0)
    tree = coo_matrix((np.ones(len(child)), (child, pred[child])),
                      shape=(n, n)).tocsr()
    hops = shortest_path(tree, directed=False, unweighted=True,
                         indices=[start, end])
    on_path = np.flatnonzero(hops[0] + hops[1] == hops[0, end])
    return coords[on_path[np.argsort(hops[0, on_path])]]


def simulate_scribbles(mask: np.ndarray, width: int, num_classes: int,
                       ignore_index: int = 255,
                       min_area: int = 64) -> np.ndarray:
    """Scribbles of width ``width`` drawn along the medial axis of each
    connected region, as in the project's reference datasets.

    For every class (background too) and every 8-connected component with at
    least ``min_area`` pixels, the component is eroded by a disk of radius
    ``max(1, width // 2) + 1`` (the image border counts as outside) and
    skeletonized, keeping the largest 8-connected skeleton piece. The raw
    component is skeletonized instead when the erosion empties it or when the
    eroded piece carrying that skeleton, re-dilated by the same disk, recovers
    less than half of the component (thin structures). The longest geodesic
    path of the skeleton piece (double Dijkstra sweep, diagonal steps
    ``sqrt(2)``) is kept; when it has more than 60% of the piece's pixels only
    its centred window of ``floor(0.6 * n_skeleton)`` pixels (at least one) is
    kept. The path is dilated by a disk of diameter ``width`` (pixels within
    ``width / 2``), intersected with the class mask and written only onto
    still-unlabelled pixels; components are visited by class id, then label.

    Returns a uint8 map: class id on scribbled pixels, ``ignore_index``
    elsewhere.
    """
    out = np.full(mask.shape, ignore_index, dtype=np.uint8)
    radius = max(1, width // 2) + 1
    pad = int(np.ceil(max(radius, width / 2))) + 1
    for cls in range(num_classes):
        cls_mask = mask == cls
        labels, _ = ndimage.label(cls_mask, structure=_EIGHT)
        areas = np.bincount(labels.ravel())
        for lab, box in enumerate(ndimage.find_objects(labels), start=1):
            if box is None or areas[lab] < min_area:
                continue
            crop = tuple(
                slice(max(s.start - pad, 0), s.stop + pad) for s in box)
            skel = _component_skeleton(labels[crop] == lab, radius)
            if not skel.any():
                continue
            path = _longest_path(skel)
            n_skel = int(skel.sum())
            if len(path) > _SCRIBBLE_KEEP * n_skel:
                keep = max(1, int(np.floor(_SCRIBBLE_KEEP * n_skel)))
                first = (len(path) - keep) // 2
                path = path[first:first + keep]
            seeds = np.zeros(skel.shape, dtype=bool)
            seeds[path[:, 0], path[:, 1]] = True
            stroke = ndimage.distance_transform_edt(~seeds) <= width / 2
            stroke &= cls_mask[crop] & (out[crop] == ignore_index)
            out[crop][stroke] = cls
    return out


def simulate_points(mask: np.ndarray, num_classes: int, n_points: int = 3,
                    radius: int = 2, rng: Optional[np.random.Generator] = None,
                    ignore_index: int = 255) -> np.ndarray:
    """Point clicks placed well inside each tagged class.

    For each class of :func:`image_tags`, ``n_points`` pixels are sampled
    without replacement, with probability proportional to the distance
    transform, among the pixels whose distance to the class boundary (the
    image border counting as boundary) is at least half the class maximum.
    Each point is dilated to a disk of ``radius`` and intersected with the
    class mask. ``rng`` defaults to a fresh, unseeded generator.

    Returns a uint8 map: class id on clicked pixels, ``ignore_index``
    elsewhere.
    """
    rng = np.random.default_rng() if rng is None else rng
    out = np.full(mask.shape, ignore_index, dtype=np.uint8)
    footprint = disk(radius).astype(bool)
    for cls in image_tags(mask, num_classes, ignore_index=ignore_index):
        cls_mask = mask == cls
        dist = _dist_inside(cls_mask)
        candidates = np.flatnonzero(dist.ravel() >= 0.5 * dist.max())
        weights = dist.ravel()[candidates]
        picked = rng.choice(candidates, size=min(n_points, len(candidates)),
                            replace=False, p=weights / weights.sum())
        seeds = np.zeros(mask.shape, dtype=bool)
        seeds.flat[picked] = True
        out[ndimage.binary_dilation(seeds, footprint) & cls_mask] = cls
    return out
