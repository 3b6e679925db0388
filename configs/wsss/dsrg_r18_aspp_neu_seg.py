# DSRG (../shared/papers/001_3db5c5196e8e9aa2) on NEU-Seg steel defects (4
# classes, 0 = background): ResNetV1c-18 + ASPP trained from seed cues
# grown online (§3.3, eq. 3: theta_f = 0.85, theta_b = 0.99) with the
# balanced seeding loss (eq. 1) + boundary loss (eq. 2), from scratch,
# 1000 iterations (CPU-sized; scale max_iters up on a GPU).
#
# Seeds: one PNG of class ids per training image (255 = unlabelled), by
# default data/neu_seg_seeds/train in the repository, as made by
#   python tools/train.py configs/wsss/cam_r18_neu_seg.py --work-dir W
#   python tools/dataset/make_seeds.py configs/wsss/cam_r18_neu_seg.py \
#       W/iter_1000.pth data/neu_seg_seeds --split train
# or anywhere: --cfg-options train_dataloader.dataset.data_prefix.pseudo_path=
# /abs/dir (a relative path is taken relative to data_root).
# Table 2 rows: "baseline" (SEC seed + constrain) model.grow=False
# model.seed_loss=plain; "+BSL" model.grow=False; "+DSRG" this config;
# "+Retrain" dsrg_r18_aspp_retrain_neu_seg.py on the labels that the
# refresh hook below writes to work_dir/pseudo_labels/v1 at the end.
_base_ = [
    '../_base_/models/r18_aspp.py', '../_base_/datasets/seeds_tags.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_1k.py'
]
data_root = '../shared/data/neu_seg'
seed_dir = '{{ fileDirname }}/../../data/neu_seg_seeds/train'
model = dict(
    type='DSRGEncoderDecoder',
    grow=True,
    seed_loss='balanced',
    theta_fg=0.85,
    theta_bg=0.99,
    bg_index=0,
    constrain_weight=1.0,
    decode_head=dict(num_classes=4))
train_dataloader = dict(
    dataset=dict(data_root=data_root, data_prefix=dict(pseudo_path=seed_dir)))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
custom_hooks = [
    # precision / recall / IoU of the grown labels vs. full masks (Fig. 4)
    dict(type='SupervisionQualityHook', interval=50, num_overlays=4),
    # the final model + dense CRF labels the training set ("+Retrain")
    dict(type='PseudoLabelRefreshHook', interval=0, at_end=True, crf=True,
         batch_size=8),
]
train_cfg = dict(type='WSSSIterBasedTrainLoop')  # the refresh hook needs it
