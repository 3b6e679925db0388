# SPSS (semantic proportions only, §2.1) on Aerial Dubai: the paper's
# U-Net, softmax class maps -> GAP -> L_sp (eq. 1), the only loss.
_base_ = [
    '../_base_/models/unet5_spss.py', '../_base_/datasets/dubai_aerial_p224.py',
    '../_base_/wsss_runtime.py', '../_base_/schedules/adam_spss.py'
]
model = dict(
    type='WSSSEncoderDecoder',
    decode_head=dict(loss_decode=[]),
    loss_weak=[dict(type='ProportionLoss', target='proportions')])
