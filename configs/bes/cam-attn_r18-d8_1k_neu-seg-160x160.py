# BES step 1 on NEU-Seg steel defects (4 classes, 0 = background): the
# attention-pooling CAM (§3.2): DSRG's classification network and schedule
# (../dsrg/cam_r18-d8_1k_neu-seg-160x160.py) with the class score of eq. (6)
# weighted by the softmax attention of eq. (7), k = 1e-3 (§4.1); at test
# time the CAMs normalised by their maximum (eq. 8) are the seg_logits.
#   python tools/train.py configs/bes/cam-attn_r18-d8_1k_neu-seg-160x160.py \
#       --work-dir W
#   python tools/dataset/make_bes_labels.py boundaries \
#       configs/bes/cam-attn_r18-d8_1k_neu-seg-160x160.py W/iter_1000.pth \
#       data/neu_seg_bes
# Validation scores the DSRG seeds of the CAMs (pred_sem_seg); the BES
# labels are measured by make_bes_labels.py's reports.
_base_ = '../dsrg/cam_r18-d8_1k_neu-seg-160x160.py'
model = dict(decode_head=dict(pooling='attention', k=1e-3))
