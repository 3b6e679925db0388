"""Test-only: SIGKILL the training process at a chosen point, as a power cut
or an OOM kill would (no ``finally`` block, no atexit handler runs).

Imported through a config's ``custom_imports``; ``MMSEG_WSSS_KILL`` names
the point, ``MMSEG_WSSS_KILL_AT`` the refresh (pseudo-label version) or the
iteration where it strikes:

* ``map``: halfway through writing a map of version ``K`` (a partial
  temporary file is on disk);
* ``publish``: version ``K`` is complete in its staging folder, not yet
  renamed;
* ``checkpoint``: halfway through writing the checkpoint of iteration
  ``K``;
* ``after_iter``: right after iteration ``K`` (its checkpoint saved).
"""
import io
import os
import signal

import torch
from mmengine.hooks import Hook
from mmengine.runner import runner as runner_module
from mmseg.registry import HOOKS

import mmseg_wsss.apis.labelling as labelling
import mmseg_wsss.engine.hooks.pseudo_label_refresh_hook as refresh_module

POINT = os.environ.get('MMSEG_WSSS_KILL')
AT = int(os.environ.get('MMSEG_WSSS_KILL_AT', '0'))


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _half_write(path: str, payload: bytes) -> None:
    with open(path, 'wb') as f:
        f.write(payload[:len(payload) // 2])
        f.flush()
        os.fsync(f.fileno())
    _die()


if POINT == 'map':
    _write_image = labelling.atomic_write_image
    _count = {'n': 0}

    def _write_then_die(path, img):
        if f'.v{AT}.tmp' in path:
            _count['n'] += 1
            if _count['n'] == 2:
                import cv2
                ok, buf = cv2.imencode('.png', img)
                _half_write(path + '.partial.tmp', buf.tobytes())
        _write_image(path, img)

    labelling.atomic_write_image = _write_then_die
elif POINT == 'publish':
    _publish = refresh_module.publish

    def _die_before_rename(staging, final):
        if final.endswith(f'v{AT}'):
            _die()
        _publish(staging, final)

    refresh_module.publish = _die_before_rename
elif POINT == 'checkpoint':
    _save = runner_module.save_checkpoint

    def _save_half(checkpoint, filename, *args, **kwargs):
        if filename.endswith(f'iter_{AT}.pth'):
            buf = io.BytesIO()
            torch.save(checkpoint, buf)
            _half_write(filename, buf.getvalue())
        _save(checkpoint, filename, *args, **kwargs)

    runner_module.save_checkpoint = _save_half


@HOOKS.register_module()
class KillAfterIterHook(Hook):
    """SIGKILL after iteration ``MMSEG_WSSS_KILL_AT`` (1-based) once every
    other hook, the checkpoint's included, has run."""
    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if POINT == 'after_iter' and runner.iter + 1 == AT:
            _die()
