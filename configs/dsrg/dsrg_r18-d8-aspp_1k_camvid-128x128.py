# DSRG (../shared/papers/001_3db5c5196e8e9aa2) on CamVid street scenes (11
# classes): dsrg_r18-d8-aspp_1k_neu-seg-128x128.py's network, losses,
# hooks and schedule.
# CamVid has no background class: bg_index=None, every class grows with
# theta_f = 0.85 and eq. (1) keeps its first term (one normalisation over
# all seeds), so "+BSL" (model.steps=[]) equals the baseline here.
#
# Seeds: by default data/camvid_seeds/train in the repository, as made by
#   python tools/train.py configs/dsrg/cam_r18-d8_1k_camvid-160x160.py \
#       --work-dir W
#   python tools/dataset/make_seeds.py \
#       configs/dsrg/cam_r18-d8_1k_camvid-160x160.py \
#       W/iter_1000.pth data/camvid_seeds --split train
# "+Retrain": dsrg-retrain_r18-d8-aspp_1k_camvid-128x128.py.
_base_ = './dsrg_r18-d8-aspp_1k_neu-seg-128x128.py'
data_root = 'data/camvid'
seed_dir = '{{ fileDirname }}/../../data/camvid_seeds/train'
model = dict(
    decode_head=dict(num_classes=11),
    steps=[
        dict(type='SeededRegionGrowing', seeds='pseudo', output='grown',
             theta_fg=0.85, theta_bg=0.99, bg_index=None)
    ],
    loss_weak=[
        dict(type='BalancedSeedLoss', target='grown', bg_index=None),
        dict(type='ConstrainLoss', loss_weight=1.0),
    ])
train_dataloader = dict(
    dataset=dict(data_root=data_root, data_prefix=dict(pseudo_path=seed_dir)))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
