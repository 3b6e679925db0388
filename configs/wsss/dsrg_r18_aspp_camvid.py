# DSRG (../shared/papers/001_3db5c5196e8e9aa2) on CamVid street scenes (11
# classes): ResNetV1c-18 + ASPP trained from seed cues grown online (§3.3,
# eq. 3) with the seeding loss + boundary loss (eq. 2), from scratch, 1000
# iterations (CPU-sized; scale max_iters up on a GPU). CamVid has no
# background class: bg_index=None, every class grows with theta_f = 0.85
# and eq. (1) keeps its first term (one normalisation over all seeds).
#
# Seeds: one PNG of class ids per training image (255 = unlabelled), by
# default data/camvid_seeds/train in the repository, as made by
#   python tools/train.py configs/wsss/cam_r18_camvid.py --work-dir W
#   python tools/dataset/make_seeds.py configs/wsss/cam_r18_camvid.py \
#       W/iter_1000.pth data/camvid_seeds --split train
# or anywhere: --cfg-options train_dataloader.dataset.data_prefix.pseudo_path=
# /abs/dir (a relative path is taken relative to data_root).
# Table 2 rows: "baseline" (SEC seed + constrain) model.grow=False
# model.seed_loss=plain; "+BSL" model.grow=False (the same here, without
# background); "+DSRG" this config;
# "+Retrain" dsrg_r18_aspp_retrain_camvid.py on the labels that the
# refresh hook below writes to work_dir/pseudo_labels/v1 at the end.
_base_ = [
    '../_base_/models/r18_aspp.py', '../_base_/datasets/seeds_tags.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_1k.py'
]
data_root = '../shared/data/camvid'
seed_dir = '{{ fileDirname }}/../../data/camvid_seeds/train'
model = dict(
    type='DSRGEncoderDecoder',
    grow=True,
    seed_loss='balanced',
    theta_fg=0.85,
    theta_bg=0.99,
    bg_index=None,
    constrain_weight=1.0,
    decode_head=dict(num_classes=11))
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
