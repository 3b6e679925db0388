# SPSS+ (§2.2) on ISBI EM membranes: one sigmoid map (the paper's binary
# EM model), L = alpha L_sp + (1 - alpha) L_sk (eq. 4) with the keypoint
# BCE on weak/points. The paper does not give alpha; 0.5 weighs both terms
# equally.
_base_ = [
    '../_base_/models/unet5_spss_binary.py',
    '../_base_/datasets/isbi_em_p256.py', '../_base_/wsss_runtime.py',
    '../_base_/schedules/adam_spss.py'
]
alpha = 0.5
model = dict(
    type='WSSSEncoderDecoder',
    decode_head=dict(loss_decode=[]),
    loss_weak=[
        dict(type='ProportionLoss', target='proportions', loss_weight=alpha),
        dict(type='KeypointBCELoss', target='points', loss_weight=1 - alpha),
    ])
