# BES step 1 on CamVid (11 classes, no background class: bg_index=None):
# cam-attn_r18-d8_1k_neu-seg-160x160.py's attention-pooling CAM (eq. 6-8)
# on the DSRG CamVid recipe (../dsrg/cam_r18-d8_1k_camvid-160x160.py).
# Without a background class, eq. (1) labels no pixel background and the
# boundary labels are those between two classes (the authors' rule).
_base_ = '../dsrg/cam_r18-d8_1k_camvid-160x160.py'
model = dict(decode_head=dict(pooling='attention', k=1e-3))
