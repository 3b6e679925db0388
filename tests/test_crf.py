"""Dense CRF post-processing (mmseg_wsss.algorithms.crf)."""
import numpy as np
import pytest

from mmseg_wsss.algorithms.crf import dense_crf, dense_crf_batch


def _noisy_two_regions(seed: int = 0, c: int = 2):
    """A two-region image and noisy probabilities leaning to the truth."""
    rng = np.random.default_rng(seed)
    gt = np.zeros((48, 64), dtype=np.int64)
    gt[:, 32:] = 1
    img = (np.where(gt[..., None] == 1, 200, 40) +
           rng.integers(0, 20, size=(48, 64, 3))).astype(np.uint8)
    logits = rng.normal(0, 1.0, size=(c, 48, 64))
    logits[gt[None] == np.arange(c)[:, None, None]] += 0.6
    probs = np.exp(logits) / np.exp(logits).sum(0, keepdims=True)
    return img, probs.astype(np.float32), gt


def test_crf_output_is_a_distribution():
    img, probs, _ = _noisy_two_regions(c=3)
    out = dense_crf(img, probs)
    assert out.shape == probs.shape and out.dtype == np.float32
    assert (out >= 0).all() and (out <= 1 + 1e-6).all()
    np.testing.assert_allclose(out.sum(0), 1.0, atol=1e-5)


def test_crf_improves_noisy_two_region_prediction():
    img, probs, gt = _noisy_two_regions()
    before = (probs.argmax(0) == gt).mean()
    after = (dense_crf(img, probs).argmax(0) == gt).mean()
    assert before < 0.8
    assert after > before + 0.1 and after > 0.95


def test_crf_gray_image_and_bad_input():
    img, probs, _ = _noisy_two_regions()
    np.testing.assert_allclose(dense_crf(img[..., 0], probs),
                               dense_crf(np.repeat(img[..., :1], 3, 2), probs))
    with pytest.raises(ValueError, match='2 channels'):
        dense_crf(img, probs[:1])
    with pytest.raises(ValueError):
        dense_crf(img[:10], probs)


@pytest.mark.parametrize('mp_context', [None, 'spawn'])
def test_crf_batch_equals_serial(mp_context):
    data = [_noisy_two_regions(seed) for seed in range(3)]
    imgs = [d[0] for d in data]
    probs = [d[1] for d in data]
    serial = dense_crf_batch(imgs, probs, num_workers=1, n_iters=5)
    pooled = dense_crf_batch(imgs, probs, num_workers=2,
                             mp_context=mp_context, n_iters=5)
    assert len(pooled) == 3
    for s, p, img, prob in zip(serial, pooled, imgs, probs):
        np.testing.assert_array_equal(s, p)
        np.testing.assert_array_equal(s, dense_crf(img, prob, n_iters=5))
