"""Start-up checks of the datasets against the model."""
from typing import Set

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from mmseg_wsss.datasets.check import check_sizes


def _base_dataset(dataset):
    """The dataset inside ``RepeatDataset``-style wrappers."""
    while hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    return dataset


@HOOKS.register_module()
class DatasetCheckHook(Hook):
    """Before a training, validation or test first reads its data:

    * **class count**: the dataset's classes (``meta.json`` of a
      :class:`WeakSegDataset`) must be as many as the model's decode head
      predicts (``model.decode_head.num_classes``); a mismatch otherwise
      trains and evaluates without complaint (class ids beyond the head are
      never predicted, the metric table gets NaN rows); a head with
      ``class_agnostic = True`` (BENet's boundary head) is not checked;
    * **pre-flight** (``preflight=True``): every pixel map has its image's
      size, from the file headers only
      (:func:`~mmseg_wsss.datasets.check.check_sizes`), so that a bad
      validation mask fails now rather than hundreds of iterations in.

    Each dataset is checked once per run. ``configs/_base_/wsss_runtime.py``
    adds it to ``default_hooks`` (as ``dataset_check``).

    Args:
        preflight (bool): Also check the map sizes. Defaults to True.
    """
    priority = 'VERY_HIGH'

    def __init__(self, preflight: bool = True) -> None:
        self.preflight = preflight
        self._checked: Set[int] = set()

    def _check(self, runner, dataloader, split: str) -> None:
        dataset = _base_dataset(dataloader.dataset)
        if id(dataset) in self._checked:
            return
        self._checked.add(id(dataset))
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = getattr(model, 'decode_head', None)
        classes = dataset.metainfo.get('classes') or ()
        if (head is not None and not getattr(head, 'class_agnostic', False)
                and len(classes) != head.num_classes):
            source = (getattr(dataset, 'meta_path', None)
                      or getattr(dataset, 'data_root', None) or split)
            raise ValueError(
                f'{source}: the {split} dataset has {len(classes)} classes '
                f'{list(classes)} but the model predicts '
                f'{head.num_classes} (model.decode_head.num_classes): make '
                'them agree')
        if self.preflight and hasattr(dataset, 'get_data_info'):
            maps = check_sizes(dataset)
            runner.logger.info(f'{split} dataset: {len(dataset)} samples, '
                               f'{maps} map sizes checked')

    def before_train(self, runner) -> None:
        self._check(runner, runner.train_dataloader, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, runner.val_dataloader, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, runner.test_dataloader, 'test')
