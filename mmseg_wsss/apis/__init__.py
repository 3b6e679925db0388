"""Labelling datasets with a model: :func:`label_dataset` and its writers."""
from .data import inner_dataset_cfg, load_config
from .labelling import (IMAGE_PIPELINE, LabelWriter, StagedLabelWriter,
                        box_prior, crf_labels, image_and_labels,
                        label_dataset, publish, resumable_staging,
                        run_shards, sample_name, staging_dir)

__all__ = [
    'IMAGE_PIPELINE', 'LabelWriter', 'StagedLabelWriter', 'box_prior',
    'crf_labels', 'image_and_labels', 'inner_dataset_cfg', 'label_dataset',
    'load_config', 'publish', 'resumable_staging', 'run_shards',
    'sample_name', 'staging_dir'
]
