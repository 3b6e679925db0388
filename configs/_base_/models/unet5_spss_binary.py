# unet5_spss.py for a binary task with one sigmoid map, as the SPSS paper's
# EM model (n = 1 output channel): foreground where sigmoid >= 0.5.
_base_ = './unet5_spss.py'
model = dict(
    decode_head=dict(
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        loss_decode=dict(use_sigmoid=True)))
