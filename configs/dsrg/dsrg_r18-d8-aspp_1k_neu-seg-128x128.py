# DSRG (../shared/papers/001_3db5c5196e8e9aa2) on NEU-Seg steel defects (4
# classes, 0 = background): ResNetV1c-18 + ASPP trained from seed cues
# grown online (§3.3, eq. 3: theta_f = 0.85, theta_b = 0.99) with the
# balanced seeding loss (eq. 1) + boundary loss (eq. 2), from scratch,
# 1000 iterations (CPU-sized; scale max_iters up on a GPU).
#
# Seeds: one PNG of class ids per training image (255 = unlabelled), by
# default data/neu_seg_seeds/train in the repository, as made by
#   python tools/train.py configs/dsrg/cam_r18-d8_1k_neu-seg-160x160.py \
#       --work-dir W
#   python tools/dataset/make_seeds.py \
#       configs/dsrg/cam_r18-d8_1k_neu-seg-160x160.py \
#       W/iter_1000.pth data/neu_seg_seeds --split train
# or anywhere: --cfg-options train_dataloader.dataset.data_prefix.pseudo_path=
# /abs/dir (a relative path is taken relative to data_root).
# Table 2 rows: "baseline" (SEC seed + constrain) model.steps=[]
# model.loss_weak.0.target=pseudo model.loss_weak.0.bg_index=None; "+BSL"
# model.steps=[] model.loss_weak.0.target=pseudo; "+DSRG" this config;
# "+Retrain" dsrg-retrain_r18-d8-aspp_1k_neu-seg-128x128.py on the labels
# that the refresh hook below writes to work_dir/pseudo_labels/v1 at the end.
_base_ = [
    '../_base_/models/r18_aspp.py', '../_base_/datasets/seeds_tags.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_1k.py'
]
data_root = 'data/neu_seg'
seed_dir = '{{ fileDirname }}/../../data/neu_seg_seeds/train'
# l = l_seed + l_boundary (eq. 2): the balanced seeding loss (eq. 1) on the
# seeds grown online by DSRG(S, H) + SEC's constrain loss; the head's own
# cross-entropy is off (loss_decode=[]), nothing trains on gt_sem_seg.
model = dict(
    type='WSSSEncoderDecoder',
    decode_head=dict(num_classes=4, loss_decode=[]),
    steps=[
        dict(type='SeededRegionGrowing', seeds='pseudo', output='grown',
             theta_fg=0.85, theta_bg=0.99, bg_index=0)
    ],
    loss_weak=[
        dict(type='BalancedSeedLoss', target='grown', bg_index=0),
        dict(type='ConstrainLoss', loss_weight=1.0),
    ])
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
