"""Loss terms of mmseg_wsss.models.losses.functional against hand-computed
values on tiny tensors (Centroid Loss paper eqs. 2-6, 12, 13)."""
import math

import pytest
import torch

from mmseg.registry import MODELS

from mmseg_wsss.models.losses.functional import (
    centroid_distances, centroid_loss, centroid_mse_loss, constrain_loss,
    expand_loss, scribble_size_bounds, seed_loss, size_loss)

IGN = 255
SEC_FLOOR = 1e-4  # the default min_prob of the SEC terms


def partial_cross_entropy(logits: torch.Tensor,
                          labels: torch.Tensor) -> torch.Tensor:
    """Eq. (2) as the configs compute it: MMSeg's cross-entropy averaged
    over the non-ignored pixels only."""
    loss = MODELS.build(dict(type='CrossEntropyLoss', avg_non_ignore=True))
    return loss(logits, labels, ignore_index=IGN)


def _close(value: torch.Tensor, expected: float, tol: float = 1e-5) -> None:
    assert value.dim() == 0
    assert value.item() == pytest.approx(expected, abs=tol, rel=tol)


@pytest.fixture
def tiny():
    """N=1, C=2, M=2, H=1, W=3: pixel features (1, 0), (0, 1), (.5, .5);
    centroids mu_0 = (.8, .2), mu_1 = (.1, .9).

    Squared distances (to mu_0, mu_1) and eq. 5's normalised d:
    p0: (.08, 1.62) -> (4/85, 81/85); p1: (1.28, .02) -> (64/65, 1/65);
    p2: (.18, .32) -> (.36, .64).
    """
    feats = torch.tensor([[[[1., 0., .5]], [[0., 1., .5]]]],
                         requires_grad=True)
    cents = torch.tensor([[[.8, .2], [.1, .9]]], requires_grad=True)
    return feats, cents


def test_centroid_distances_by_hand(tiny):
    d = centroid_distances(*tiny)
    expected = torch.tensor([[[[4 / 85, 64 / 65, .36]],
                              [[81 / 85, 1 / 65, .64]]]])
    assert d.shape == (1, 2, 1, 3)
    assert torch.allclose(d, expected, atol=1e-5)
    assert torch.allclose(d.sum(1), torch.ones(1, 1, 3), atol=1e-6)


def test_centroid_distances_in_half_precision_on_cpu(tiny):
    """--amp on CPU: half features and centroids (cdist has no half CPU
    kernel) give the float result, in half."""
    feats, cents = tiny[0], tiny[1]
    d = centroid_distances(feats.half(), cents.half())
    assert d.dtype == torch.float16
    torch.testing.assert_close(d.float(),
                               centroid_distances(feats.half().float(),
                                                  cents.half().float()),
                               atol=1e-3, rtol=1e-3)


def test_centroid_distances_three_classes_by_hand():
    # f = (0, 0); mu = (1, 0), (0, 2), (3, 4): |.|^2 = 1, 4, 25 -> / 30
    feats = torch.zeros(1, 2, 1, 1)
    cents = torch.tensor([[[1., 0.], [0., 2.], [3., 4.]]])
    d = centroid_distances(feats, cents).flatten()
    assert torch.allclose(d, torch.tensor([1 / 30, 4 / 30, 25 / 30]),
                          atol=1e-6)


def test_centroid_loss_by_hand(tiny):
    feats, cents = tiny
    labels = torch.tensor([[[0, IGN, 1]]])
    # -log softmax(-d)_c = log(1 + exp(d_c - d_other)) for two classes:
    # p0 (class 0): log(1 + e^(4/85 - 81/85)); p2 (class 1): log(1 + e^.28)
    expected = (math.log(1 + math.exp(-77 / 85)) +
                math.log(1 + math.exp(.28))) / 2  # = 0.591186
    loss = centroid_loss(feats, cents, labels)
    _close(loss, expected)
    assert expected == pytest.approx(0.591186, abs=1e-6)
    loss.backward()
    assert torch.isfinite(feats.grad).all() and torch.isfinite(
        cents.grad).all()
    assert cents.grad.abs().sum() > 0


def test_centroid_mse_loss_by_hand(tiny):
    feats, cents = tiny
    # argmax of probs: p0 -> 1, p1 -> 0, p2 -> 1
    probs = torch.tensor([[[[.3, .9, .2]], [[.7, .1, .8]]]])
    _close(centroid_mse_loss(feats, cents, probs),
           (81 / 85 + 64 / 65 + .64) / 3)
    valid = torch.tensor([[[True, False, True]]])
    loss = centroid_mse_loss(feats, cents, probs, valid_mask=valid)
    _close(loss, (81 / 85 + .64) / 2)
    loss.backward()
    assert torch.isfinite(feats.grad).all()
    assert feats.grad[..., 1].abs().sum() == 0  # excluded pixel


def test_partial_cross_entropy_by_hand():
    logits = torch.tensor([[[[2., 0., 1.]], [[0., 0., 3.]]]],
                          requires_grad=True)
    labels = torch.tensor([[[0, IGN, 0]]])
    # p0: -log(e^2 / (e^2 + 1)) = log(1 + e^-2); p2: log(1 + e^2)
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(2))) / 2
    loss = partial_cross_entropy(logits, labels)
    _close(loss, expected)
    loss.backward()
    assert logits.grad[..., 1].abs().sum() == 0


def _finite_backward(loss: torch.Tensor, *leaves: torch.Tensor) -> None:
    assert torch.isfinite(loss)
    loss.backward()
    for leaf in leaves:
        assert leaf.grad is not None and torch.isfinite(leaf.grad).all()


def test_weighted_cross_entropy_by_hand():
    """Class weights (.5, 2); logits (1, 0) at three pixels labelled 0, 1
    and ignored: (.5 log(1 + e^-1) + 2 log(1 + e)) / (.5 + 2)."""
    loss = MODELS.build(dict(type='WeightedCrossEntropyLoss',
                             class_weight=[.5, 2.], loss_weight=3.))
    logits = torch.tensor([[[[1., 1., 1.]], [[0., 0., 0.]]]])
    labels = torch.tensor([[[0, 1, IGN]]])
    expected = (.5 * math.log1p(math.exp(-1)) +
                2 * math.log1p(math.e)) / 2.5
    _close(loss(logits, labels, ignore_index=IGN), 3 * expected)
    # no labelled pixel: 0, not NaN
    _close(loss(logits, torch.full_like(labels, IGN), ignore_index=IGN), 0.)


def test_weighted_cross_entropy_is_torch_weighted_mean():
    """Random maps with a third of the pixels ignored: PyTorch's weighted
    mean over the labelled pixels (MMSeg's own CrossEntropyLoss raises
    IndexError on them when given class_weight)."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 5, 6, generator=g)
    labels = torch.randint(0, 4, (2, 5, 6), generator=g)
    labels[torch.rand(2, 5, 6, generator=g) < 1 / 3] = IGN
    weights = [.1, 1., 2., .5]
    loss = MODELS.build(dict(type='WeightedCrossEntropyLoss',
                             class_weight=weights))
    expected = torch.nn.functional.cross_entropy(
        logits, labels, weight=torch.tensor(weights), ignore_index=IGN)
    _close(loss(logits, labels, ignore_index=IGN), expected.item())


def test_identical_features_and_centroids_are_safe():
    feats = torch.full((2, 3, 4, 5), .5, requires_grad=True)
    cents = torch.full((2, 3, 3), .5, requires_grad=True)
    d = centroid_distances(feats, cents)
    assert torch.allclose(d, torch.full_like(d, 1 / 3))
    labels = torch.zeros(2, 4, 5, dtype=torch.long)
    loss = centroid_loss(feats, cents, labels)
    _close(loss, math.log(3))
    mse = centroid_mse_loss(feats, cents, torch.rand(2, 3, 4, 5))
    _close(mse, 1 / 3)
    _finite_backward(loss + mse, feats, cents)


def test_no_labelled_pixel_gives_zero_with_grad():
    feats = torch.rand(2, 3, 4, 4, requires_grad=True)
    cents = torch.rand(2, 3, 3, requires_grad=True)
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    labels = torch.full((2, 4, 4), IGN, dtype=torch.long)
    probs = logits.softmax(1)
    losses = [partial_cross_entropy(logits, labels),
              centroid_loss(feats, cents, labels),
              seed_loss(probs, labels)]
    for loss in losses:
        assert loss.item() == 0
    _finite_backward(sum(losses), feats, cents, logits)


def test_absent_class_and_empty_batch_are_safe():
    # class 2 has no scribble pixel and its centroid sits on a feature
    feats = torch.tensor([[[[1., 0.]], [[0., 0.]], [[0., 1.]]]],
                         requires_grad=True)
    cents = torch.tensor([[[1., 0., 0.], [0., 1., 0.], [1., 0., 0.]]],
                         requires_grad=True)
    labels = torch.tensor([[[0, 1]]])
    _finite_backward(centroid_loss(feats, cents, labels) +
                     centroid_mse_loss(feats, cents, feats), feats, cents)
    # empty batch
    logits = torch.randn(0, 3, 4, 4, requires_grad=True)
    empty = torch.zeros(0, 4, 4, dtype=torch.long)
    probs = logits.softmax(1)
    terms = [partial_cross_entropy(logits, empty),
             centroid_loss(logits, torch.rand(0, 3, 3), empty),
             size_loss(probs, torch.zeros(0, 3, 2)),
             seed_loss(probs, empty),
             expand_loss(probs, torch.zeros(0, 3)),
             constrain_loss(probs, probs)]
    for term in terms:
        assert term.item() == 0
    _finite_backward(sum(terms), logits)


def test_scribble_size_bounds_by_hand():
    labels = torch.tensor([[[0, 0, IGN], [2, IGN, IGN]]])
    # counts (2, 0, 1), area 6: c0 [2, 6 - 1], c1 absent [0, 0],
    # c2 [1, 6 - 2]
    bounds = scribble_size_bounds(labels, 3)
    assert bounds.tolist() == [[[2., 5.], [0., 0.], [1., 4.]]]
    valid = torch.tensor([[[True, True, False], [True, True, False]]])
    bounds = scribble_size_bounds(labels, 3, valid_mask=valid)
    assert bounds.tolist() == [[[2., 3.], [0., 0.], [1., 2.]]]


def test_size_loss_by_hand():
    p1 = torch.tensor([.9, .6, .2, .1])
    probs = torch.stack([1 - p1, p1]).view(1, 2, 1, 4).requires_grad_()
    labels = torch.tensor([[[1, IGN, IGN, IGN]]])
    # V = (2.2, 1.8); bounds c0 [0, 0] (no scribble), c1 [1, 4]:
    # c0 penalty (2.2 - 0)^2 = 4.84, c1 inside -> 0; / 4 pixels, mean of 2
    loss = size_loss(probs, scribble_size_bounds(labels, 2))
    _close(loss, 4.84 / 4 / 2)
    _finite_backward(loss, probs)
    # explicit bounds: c0 [0, 1.5] -> (2.2 - 1.5)^2, c1 [2.5, 3] -> (2.5-1.8)^2
    bounds = torch.tensor([[[0., 1.5], [2.5, 3.]]])
    _close(size_loss(probs, bounds), (.49 / 4 + .49 / 4) / 2)
    # valid mask drops the last pixel: V = (1.3, 1.7), 3 pixels; c0 is
    # inside [0, 1.5], c1 is below 2.5
    valid = torch.tensor([[[True, True, True, False]]])
    _close(size_loss(probs, bounds, valid), (0 + (2.5 - 1.7) ** 2 / 3) / 2)


def test_seed_loss_by_hand():
    # N=2, C=2, H=1, W=2; class-0 probs: image 0 (.8, .3), image 1 (.6, .5)
    p0 = torch.tensor([[.8, .3], [.6, .5]])
    probs = torch.stack([p0, 1 - p0], 1).view(2, 2, 1, 2).requires_grad_()
    labels = torch.tensor([[[0, 1]], [[1, IGN]]])
    # per-image mean, then mean over images (SEC's balanced seed loss)
    img0 = -(math.log(.8 + SEC_FLOOR) + math.log(.7 + SEC_FLOOR)) / 2
    img1 = -math.log(.4 + SEC_FLOOR)
    loss = seed_loss(probs, labels)
    _close(loss, (img0 + img1) / 2)
    _finite_backward(loss, probs)
    # an image without seeds does not dilute the mean
    labels[1] = IGN
    _close(seed_loss(probs, labels), img0)


def _expand_probs() -> torch.Tensor:
    """N=1, C=3 (0 = background), H=1, W=3; pixels (bg, c1, c2):
    (.5, .3, .2), (.2, .7, .1), (.1, .6, .3)."""
    probs = torch.tensor([[.5, .3, .2], [.2, .7, .1], [.1, .6, .3]])
    return probs.t().reshape(1, 3, 1, 3).clone().requires_grad_()


def test_expand_loss_by_hand():
    probs = _expand_probs()
    labels = torch.tensor([[1., 1., 0.]])  # bg and c1 present, c2 absent
    # q_bg = .8: bg sorted (.5, .2, .1), weights (1, .8, .64), Z = 2.44
    g_bg = (.5 + .8 * .2 + .64 * .1) / 2.44
    # q_fg = .5: c1 sorted (.7, .6, .3), weights (1, .5, .25), Z = 1.75
    g_1 = (.7 + .5 * .6 + .25 * .3) / 1.75
    # c2 absent: max-pooled, -log(1 - .3)
    expected = -(math.log(g_1 + SEC_FLOOR) + math.log(1 - .3 + SEC_FLOOR) +
                 math.log(g_bg + SEC_FLOOR))
    loss = expand_loss(probs, labels, q_fg=.5, q_bg=.8)
    _close(loss, expected)
    _finite_backward(loss, probs)


def test_expand_loss_sets_and_options():
    probs = _expand_probs()
    # both fg absent: the absent-class term averages over its 2 classes
    labels = torch.tensor([[1., 0., 0.]])
    g_bg = (.5 + .8 * .2 + .64 * .1) / 2.44
    expected = -(math.log(1 - .7 + SEC_FLOOR) + math.log(1 - .3 + SEC_FLOOR)
                 ) / 2 - math.log(g_bg + SEC_FLOOR)
    _close(expand_loss(probs, labels, q_fg=.5, q_bg=.8), expected)
    # q = 0 is global max pooling (0^0 = 1); no special background class:
    # present c0 and c1 average their -log max, c2 absent
    labels = torch.tensor([[1., 1., 0.]])
    expected = -(math.log(.5 + SEC_FLOOR) + math.log(.7 + SEC_FLOOR)) / 2 \
        - math.log(1 - .3 + SEC_FLOOR)
    _close(expand_loss(probs, labels, q_fg=0., bg_index=None), expected)


def test_expand_loss_default_weights_plain_python():
    torch.manual_seed(0)
    probs = torch.rand(1, 2, 20, 30).softmax(1)
    labels = torch.tensor([[1., 1.]])

    def gwrp(values, q):
        ranked = sorted(values, reverse=True)
        return (sum(q ** j * v for j, v in enumerate(ranked)) /
                sum(q ** j for j in range(len(ranked))))

    g_bg = gwrp(probs[0, 0].flatten().tolist(), .999)
    g_fg = gwrp(probs[0, 1].flatten().tolist(), .996)
    expected = -math.log(g_fg + SEC_FLOOR) - math.log(g_bg + SEC_FLOOR)
    _close(expand_loss(probs, labels), expected)


def test_constrain_loss_by_hand():
    p1 = torch.tensor([.4, .9])
    probs = torch.stack([1 - p1, p1]).view(1, 2, 1, 2).requires_grad_()
    crf = torch.tensor([[[[1., .2]], [[0., .8]]]], requires_grad=True)
    # KL(Q || f) per pixel, 0 log 0 = 0
    px0 = math.log(1 / (.6 + SEC_FLOOR))
    px1 = .2 * math.log(.2 / (.1 + SEC_FLOOR)) + \
        .8 * math.log(.8 / (.9 + SEC_FLOOR))
    loss = constrain_loss(probs, crf)
    _close(loss, (px0 + px1) / 2)
    loss.backward()
    assert torch.isfinite(probs.grad).all()
    assert crf.grad is None  # the CRF output is a constant target


def test_losses_gradcheck_double():
    torch.manual_seed(0)
    feats = torch.rand(1, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    cents = torch.rand(1, 2, 2, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([[[0, IGN, 1], [1, 0, IGN]]])
    assert torch.autograd.gradcheck(
        lambda f, c: centroid_loss(f, c, labels), (feats, cents))
    assert torch.autograd.gradcheck(
        lambda f, c: centroid_mse_loss(f, c, f), (feats, cents))
