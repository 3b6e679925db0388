# DSRG part 1: the classification network and its seed cues on NEU-Seg
# steel defects (4 classes, class 0 background), trained from image tags
# only. Validation scores the seeds (pred_sem_seg, 255 = unlabelled)
# against the full masks, the tags given. Seeds for training DSRG:
#   python tools/train.py configs/dsrg/cam_r18-d8_1k_neu-seg-160x160.py \
#       --work-dir W
#   python tools/dataset/make_seeds.py \
#       configs/dsrg/cam_r18-d8_1k_neu-seg-160x160.py \
#       W/iter_1000.pth data/neu_seg_seeds --split train
# then data_prefix.pseudo_path=data/neu_seg_seeds/train in the DSRG config.
# A training step (batch 8, 160x160, stride 8) takes 4-10 s on 2 CPU cores:
# the 1000 iterations are a CPU-sized schedule, scale them up on a GPU.
_base_ = [
    '../_base_/models/cam_r18-d8.py', '../_base_/datasets/neu_seg.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adamw_1k.py'
]
crop_size = (160, 160)
model = dict(decode_head=dict(num_classes=4, bg_index=0))
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['tags']),
    dict(type='WeakRandomRescale', ratio_range=(0.75, 1.25)),
    # the crop keeps the image's tags (declared image-level): a tagged
    # class may fall outside it, label noise the classifier tolerates
    dict(type='WeakRandomCrop', crop_size=crop_size, tags='image'),
    dict(type='WeakRandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs', target=None),
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadWeakAnnotations', annotations=['full', 'tags']),
    dict(type='PackWeakSegInputs', target='full'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(_delete_=True, img_path='img_dir/train'),
        tags_file='weak/tags.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(tags_file='weak/tags.json', pipeline=test_pipeline))
test_dataloader = val_dataloader
