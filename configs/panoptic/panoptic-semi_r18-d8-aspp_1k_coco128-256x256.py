# Semi-supervision (§3.5): panoptic-boxes_* with the full masks of a
# deterministic 10% of the training images (full_subset; seed 0) in place of
# their box pseudo labels, in one run. Another share:
#   --cfg-options train_dataloader.dataset.full_subset.fraction=0.3
# or a list of image ids: full_subset=dict(list_file='splits/full.txt').
_base_ = './panoptic-boxes_r18-d8-aspp_1k_coco128-256x256.py'
train_dataloader = dict(
    dataset=dict(full_subset=dict(fraction=0.1, seed=0)))
