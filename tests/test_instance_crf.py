"""The instance CRF of the panoptic paper (003_92e9ad3e958c7c40, §3.5,
eq. 2-4): hand-computed unaries, bad detections, local vs dense messages,
mean field vs brute-force minimisation of eq. (2), the torch head vs
numpy (values and gradients), Hungarian matching vs brute force and the
permutation-invariant instance loss."""
import itertools
import math

import numpy as np
import pytest
import torch
from mmseg.registry import MODELS

from mmseg_wsss.algorithms.instance_crf import (
    KernelParams, add_stuff_detections, check_detections, dense_kernel,
    dense_pairwise_messages, instance_map, instance_unaries,
    local_kernel_weights,
    local_pairwise_messages, match_instances, matched_targets, mean_field)
from mmseg_wsss.models.decode_heads import InstanceCRFHead

NO_BOXES = np.zeros((0, 4))


def _unaries(q, labels, scores, boxes, stuff=(), **kwargs):
    dets = add_stuff_detections(labels, scores, boxes, stuff, q.shape[1:])
    return instance_unaries(q, *dets, **kwargs)


def test_unaries_by_hand_1x4():
    q = np.array([[[.9, .6, .2, .1]], [[.1, .4, .8, .9]]])  # (2, 1, 4)
    # detection 0: class 1, score .5, box x 2..3.5: pixel centres 2.5 and
    # 3.5 (edge included) inside; the stuff dummy of class 0 is appended
    u = _unaries(q, [1], [.5], [[2, 0, 3.5, 1]], stuff=[0], eps=0.0)
    # det 0: w1 s Q + w2 Q = [0 + .1, 0 + .4, .4 + .8, .45 + .9]
    # stuff: 1 * Q + Q      = [1.8, 1.2, .4, .2]
    expected = -np.log([[[.1, .4, 1.2, 1.35]], [[1.8, 1.2, .4, .2]]])
    np.testing.assert_allclose(u, expected, rtol=1e-12)
    # -ln(.1) = 2.302585, -ln(1.35) = -0.300105, -ln(1.8) = -0.587787
    assert u[0, 0, 0] == pytest.approx(2.302585093)
    assert u[0, 0, 3] == pytest.approx(-0.300104592)
    assert u[1, 0, 0] == pytest.approx(-0.587786665)
    # x2 = 3.4 < 3.5: the last pixel leaves the box, -ln(.9) = 0.105361
    u = _unaries(q, [1], [.5], [[2, 0, 3.4, 1]], eps=0.0)
    assert u[0, 0, 3] == pytest.approx(0.105360516)


def test_unaries_by_hand_3x3_weights_and_eps():
    q1 = np.array([[.2, .4, .6], [.8, 1, 0], [.5, .5, .5]])
    q = np.stack([1 - q1, q1])
    # class 1, score .6, box x 1..2.4, y 1..3: centres x 1.5 (2.5 out),
    # y 1.5 and 2.5, i.e. pixels (1, 1) and (2, 1); w1 2, w2 .5, eps .1
    u = _unaries(q, [1], [.6], [[1, 1, 2.4, 3]], w1=2.0, w2=0.5, eps=0.1)
    # outside: .5 Q + .1; (1, 1): 2 * .6 * 1 + .5 + .1 = 1.8;
    # (2, 1): 2 * .6 * .5 + .25 + .1 = .95
    args = [[.2, .3, .4], [.5, 1.8, .1], [.35, .95, .35]]
    expected = [[-math.log(a) for a in row] for row in args]
    np.testing.assert_allclose(u[0], expected, rtol=1e-12)
    assert u[0, 1, 1] == pytest.approx(-0.587786665)  # -ln 1.8
    assert u[0, 2, 1] == pytest.approx(0.051293294)  # -ln .95


@pytest.mark.parametrize('labels,scores,boxes,match', [
    ([1], [.5], [[5, 0, 9, 3]], 'outside'),        # x1 >= W = 4
    ([1], [.5], [[-9, -9, 0, 3]], 'outside'),      # x2 <= 0
    ([1], [np.nan], [[0, 0, 2, 2]], 'scores'),
    ([1], [np.inf], [[0, 0, 2, 2]], 'scores'),
    ([1], [1.5], [[0, 0, 2, 2]], 'scores'),
    ([1], [-.1], [[0, 0, 2, 2]], 'scores'),
    ([2], [.5], [[0, 0, 2, 2]], 'labels'),          # C = 2
    ([-1], [.5], [[0, 0, 2, 2]], 'labels'),
    ([.5], [.5], [[0, 0, 2, 2]], 'labels'),
    ([1], [.5], [[3, 0, 2, 2]], 'finite boxes'),   # x2 < x1
    ([1], [.5], [[0, np.nan, 2, 2]], 'finite boxes'),
    ([1, 1], [.5], [[0, 0, 2, 2]], 'scores'),      # shapes
])
def test_bad_detections_raise(labels, scores, boxes, match):
    q = np.full((2, 3, 4), .5)
    with pytest.raises(ValueError, match=match):
        instance_unaries(q, labels, scores, boxes)


def test_boxes_are_clipped_and_stuff_classes_checked():
    dets = check_detections([1], [.5], [[-5, -2, 100, 2]], 2, (3, 4))
    np.testing.assert_array_equal(dets.boxes, [[0, 0, 4, 2]])
    with pytest.raises(ValueError, match='stuff_classes'):
        add_stuff_detections([], [], NO_BOXES, [0, 0], (3, 4))
    with pytest.raises(ValueError, match='w1'):
        instance_unaries(np.full((2, 3, 4), .5), [1], [.5], [[0, 0, 2, 2]],
                         w1=-1.0)


def test_zero_detections_give_only_stuff_instances():
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(3), size=(4, 5)).transpose(2, 0, 1)
    dets = add_stuff_detections([], [], NO_BOXES, [0, 2], (4, 5))
    np.testing.assert_array_equal(dets.labels, [0, 2])
    np.testing.assert_array_equal(dets.boxes, [[0, 0, 5, 4]] * 2)
    u = instance_unaries(q, *dets, eps=0.0)
    np.testing.assert_allclose(u, -np.log(2 * q[[0, 2]]), rtol=1e-12)
    ids, classes = instance_map(mean_field(u, rng.uniform(0, 255, (4, 5,
                                                                    3))),
                                dets.labels)
    assert set(np.unique(classes)) <= {0, 2}
    np.testing.assert_array_equal(classes, dets.labels[ids])
    with pytest.raises(ValueError, match='one detection or more'):
        instance_unaries(q, [], [], NO_BOXES)


def test_local_messages_equal_dense_when_the_window_covers_the_image():
    rng = np.random.default_rng(1)
    q = rng.dirichlet(np.ones(3), size=(3, 4)).transpose(2, 0, 1)
    img = rng.uniform(0, 255, (3, 4, 3))
    kernel = KernelParams(theta_beta=60.0)  # colour terms far from 0
    dense = dense_pairwise_messages(q, img, kernel)
    for radius in (3, 5):  # max(H, W) - 1 = 3
        np.testing.assert_allclose(
            local_pairwise_messages(q, img, radius, kernel), dense,
            rtol=0, atol=1e-10)
    # radius 1: the dense kernel restricted to the 3x3 window
    ys, xs = np.divmod(np.arange(12), 4)
    near = np.maximum(abs(ys[:, None] - ys), abs(xs[:, None] - xs)) <= 1
    truncated = (q.reshape(3, -1) @ (dense_kernel(img, kernel) * near))
    np.testing.assert_allclose(local_pairwise_messages(q, img, 1, kernel),
                               truncated.reshape(q.shape), atol=1e-10)
    assert not np.allclose(truncated.reshape(q.shape), dense)


def _energies(u, k):
    """Eq. (2) of every labelling: ``(D^N,)`` energies, ``(D^N, N)``
    labellings (unary + sum_{i<j} k_ij [x_i != x_j])."""
    d, n = len(u), u[0].size
    x = np.array(list(itertools.product(range(d), repeat=n)))
    un = u.reshape(d, -1)[x, np.arange(n)].sum(1)
    diff = x[:, :, None] != x[:, None, :]
    return un + 0.5 * (diff * k).sum((1, 2)), x


def _free_energy(q, u, k):
    """Mean-field free energy ``E_Q[E] - H(Q)`` (an upper bound of
    ``-ln Z``)."""
    qf = q.reshape(len(q), -1)
    pair = 0.5 * (k * (1 - qf.T @ qf)).sum()
    return (qf * u.reshape(len(q), -1)).sum() + pair + (
        qf * np.log(qf)).sum()


def _problem(seed, d=3, hw=(2, 3)):
    rng = np.random.default_rng(seed)
    u = rng.uniform(0, 2, (d, *hw))
    img = rng.uniform(0, 255, (*hw, 3))
    return u, img


def test_mean_field_without_pairwise_is_the_pixelwise_minimiser():
    none = KernelParams(w_spatial=0.0, w_bilateral=0.0)
    for seed in range(5):
        u, img = _problem(seed)
        energies, x = _energies(u, dense_kernel(img, none))
        q = mean_field(u, img, radius=2, kernel=none)
        np.testing.assert_allclose(q, np.exp(-u) / np.exp(-u).sum(0))
        best = x[energies.argmin()].reshape(u.shape[1:])
        np.testing.assert_array_equal(q.argmax(0), best)
        np.testing.assert_array_equal(best, u.argmin(0))


def test_mean_field_finds_the_pairwise_optimum():
    # one uniform-colour 2x3 image: five pixels strongly prefer instance 0,
    # pixel (1, 2) weakly prefers 1; the Potts pairwise flips it to 0
    u = np.zeros((2, 2, 3))
    u[1] = 3.0
    u[:, 1, 2] = [.5, 0]
    img = np.full((2, 3, 3), 100.0)
    kernel = KernelParams(w_spatial=.3, w_bilateral=.2)
    energies, x = _energies(u, dense_kernel(img, kernel))
    best = x[energies.argmin()].reshape(2, 3)
    np.testing.assert_array_equal(best, 0)
    assert u.argmin(0)[1, 2] == 1  # not the pixel-wise minimiser
    q = mean_field(u, img, radius=2, kernel=kernel)
    np.testing.assert_array_equal(q.argmax(0), best)
    # random 2x3 problems, 3 instances, where the pairwise term moves the
    # optimum away from the pixel-wise minimiser and the optimum is clear
    # (Gibbs probability exp(-E) / Z >= .9; mean field is an approximation
    # and may settle in another mode elsewhere)
    kernel = KernelParams(w_spatial=2.0, w_bilateral=2.0, theta_beta=50.0)
    checked = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        u = rng.uniform(0, 4, (3, 2, 3))
        img = rng.uniform(0, 255, (2, 3, 3))
        energies, x = _energies(u, dense_kernel(img, kernel))
        best = x[energies.argmin()].reshape(2, 3)
        gibbs = np.exp(energies.min() - energies)
        if gibbs.max() / gibbs.sum() < .9 or (best == u.argmin(0)).all():
            continue
        checked += 1
        q = mean_field(u, img, radius=2, kernel=kernel)
        np.testing.assert_array_equal(q.argmax(0), best)
    assert checked >= 15


def test_mean_field_free_energy_decreases_and_bounds_log_z():
    kernel = KernelParams(w_spatial=.3, w_bilateral=.3, theta_beta=50.0)
    for seed in range(5):
        u, img = _problem(seed, d=3, hw=(2, 3))
        k = dense_kernel(img, kernel)
        energies, _ = _energies(u, k)
        neg_log_z = -np.log(np.exp(-energies).sum())
        free = [_free_energy(mean_field(u, img, t, 2, kernel), u, k)
                for t in range(6)]
        assert min(free) >= neg_log_z - 1e-12
        assert np.all(np.diff(free) <= 1e-12), free


def _random_case(seed, c=4, hw=(6, 7), n_det=3, dtype=torch.float64):
    rng = np.random.default_rng(seed)
    q = rng.dirichlet(np.ones(c), size=hw).transpose(2, 0, 1)
    img = rng.uniform(0, 255, (*hw, 3))
    xy = rng.uniform(0, min(hw), (n_det, 2, 2))
    boxes = np.concatenate([xy.min(1), xy.max(1) + 1], 1)
    labels = rng.integers(1, c, n_det)
    scores = rng.uniform(.2, 1, n_det)
    dets = (torch.tensor(labels), torch.tensor(scores, dtype=dtype),
            torch.tensor(boxes, dtype=dtype))
    return q, img, (labels, scores, boxes), dets


def _torch_inputs(q, img, dtype):
    return (torch.tensor(q, dtype=dtype)[None],
            torch.tensor(img, dtype=dtype).permute(2, 0, 1)[None])


@pytest.mark.parametrize('normalize', [False, True])
@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-10),
                                       (torch.float32, 1e-5)])
def test_head_equals_numpy(dtype, tol, normalize):
    head = MODELS.build(dict(type='InstanceCRFHead', radius=2, iters=3,
                             theta_beta=30.0, normalize=normalize))
    assert isinstance(head, InstanceCRFHead)
    head.to(dtype)
    with torch.no_grad():
        head.w1.fill_(.7)
        head.w2.fill_(1.3)
    kernel = KernelParams(theta_beta=30.0)
    for seed in range(3):
        q, img, np_dets, dets = _random_case(seed, dtype=dtype)
        qt, imt = _torch_inputs(q, img, dtype)
        with torch.no_grad():
            out = head(qt, imt, [dets], stuff_classes=[0])
        u = _unaries(q, *np_dets, stuff=[0], w1=.7, w2=1.3)
        expected = mean_field(u, img, 3, 2, kernel, normalize)
        assert out[0].dtype == dtype and out[0].shape == expected.shape
        np.testing.assert_allclose(out[0].numpy(), expected, rtol=0,
                                   atol=tol)


def test_head_gradients_flow_to_weights_and_probabilities():
    head = InstanceCRFHead(radius=1, iters=2, theta_beta=40.0).double()
    q, img, _, dets = _random_case(3, c=3, hw=(3, 4), n_det=2)
    qt, imt = _torch_inputs(q, img, torch.float64)
    qt.requires_grad_(True)

    def fn(probs, w1, w2):
        return torch.func.functional_call(
            head, {'w1': w1, 'w2': w2}, (probs, imt, [dets], [0]))[0]

    w1 = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (qt, w1, w2))
    out = head(qt, imt, [dets], [0])
    gt = torch.as_tensor(np.random.default_rng(0).integers(0, 3, (3, 4)))
    head.loss(out, [gt]).backward()
    for grad in (head.w1.grad, head.w2.grad, qt.grad):
        assert grad is not None and torch.isfinite(grad).all()
        assert grad.abs().sum() > 0


def _brute_force_match(pred, gt, ignore_index=255):
    """Best total IoU over every one-to-one assignment (zero-padded)."""
    valid = gt != ignore_index
    g_ids = np.unique(gt[valid])
    p_ids = np.unique(pred[valid])
    iou = np.zeros((len(g_ids), len(p_ids)))
    for a, g in enumerate(g_ids):
        for b, p in enumerate(p_ids):
            gm, pm = (gt == g) & valid, (pred == p) & valid
            iou[a, b] = (gm & pm).sum() / (gm | pm).sum()
    n = max(iou.shape)
    padded = np.zeros((n, n))
    padded[:iou.shape[0], :iou.shape[1]] = iou
    totals = {perm: padded[np.arange(n), perm].sum()
              for perm in itertools.permutations(range(n))}
    return max(totals.values()), totals, g_ids, p_ids


def test_hungarian_matching_against_brute_force():
    rng = np.random.default_rng(4)
    for _ in range(30):
        gt = rng.integers(0, rng.integers(1, 5), (5, 6))
        gt[rng.random((5, 6)) < .15] = 255
        gt = np.where(gt == 255, 255, gt * 3 + 1)  # sparse ids
        pred = rng.integers(0, rng.integers(1, 5), (5, 6))
        match = match_instances(pred, gt)
        best, totals, g_ids, p_ids = _brute_force_match(pred, gt)
        assert match.ious.sum() == pytest.approx(best, abs=1e-12)
        assert (match.ious > 0).all()
        if sorted(totals.values())[-2:].count(best) == 1:  # unique optimum
            perm = max(totals, key=totals.get)
            pairs = {(g_ids[a], p_ids[b]) for a, b in enumerate(perm)
                     if a < len(g_ids) and b < len(p_ids)}
            got = set(zip(match.gt_ids.tolist(), match.pred_ids.tolist()))
            assert got <= pairs
        target = matched_targets(gt, match)
        for g, p in zip(match.gt_ids, match.pred_ids):
            assert (target[gt == g] == p).all()
        unmatched = ~np.isin(gt, match.gt_ids)
        assert (target[unmatched] == -1).all()


def test_unmatched_ground_truth_is_ignored():
    pred = np.array([[0, 0, 1, 1]])
    gt = np.array([[5, 5, 7, 9]])  # 7 and 9 compete for instance 1
    match = match_instances(pred, gt)
    assert dict(zip(match.gt_ids, match.pred_ids)) == {5: 0, 7: 1}
    np.testing.assert_array_equal(matched_targets(gt, match),
                                  [[0, 0, 1, -1]])


def test_loss_is_permutation_invariant_and_by_hand():
    head = InstanceCRFHead(radius=2).double()
    q, img, _, dets = _random_case(5, n_det=3)
    qt, imt = _torch_inputs(q, img, torch.float64)
    with torch.no_grad():
        out = head(qt, imt, [dets], [0])
    pred = out[0].argmax(0)
    # ground truth = the prediction with other ids: loss = mean -ln max Q
    relabel = torch.tensor([7, 3, 11, 2])
    by_hand = -torch.log(out[0].max(0).values).mean()
    assert head.loss(out, [relabel[pred]]).item() == pytest.approx(
        by_hand.item(), rel=1e-12)
    rng = np.random.default_rng(6)
    gt = torch.as_tensor(rng.integers(0, 4, pred.shape))
    gt[0, :3] = 255
    loss = head.loss(out, [gt])
    for perm in itertools.permutations(range(4)):
        ids = torch.tensor([*perm, *range(4, 256)])
        assert head.loss(out, [ids[gt]]).item() == pytest.approx(
            loss.item(), rel=1e-12)


def test_normalised_kernels_by_hand_on_a_flat_image():
    """Flat colour: at the centre of a 5x5 image with radius 2 each kernel
    sums to S over the 24 neighbours, so the normalised weights sum to
    w S / (1 + S) per kernel."""
    img = np.full((5, 5, 3), 100.0)
    kernel = KernelParams(w_spatial=3, theta_gamma=3, w_bilateral=4,
                          theta_alpha=49)
    w = local_kernel_weights(img, 2, kernel, normalize=True)
    d2 = [dy * dy + dx * dx for dy in range(-2, 3) for dx in range(-2, 3)
          if dy or dx]
    s_s = sum(math.exp(-d / 18) for d in d2)
    s_b = sum(math.exp(-d / (2 * 49 ** 2)) for d in d2)
    want = 3 * s_s / (1 + s_s) + 4 * s_b / (1 + s_b)
    assert abs(w[:, 2, 2].sum() - want) < 1e-12
    assert (w.sum(0) < 7).all()
    raw = local_kernel_weights(img, 2, kernel)
    assert abs(raw[:, 2, 2].sum() - (3 * s_s + 4 * s_b)) < 1e-12
