"""Framework-free algorithms (no mmseg / torch imports here).

The random walk of BES is imported from its module,
``mmseg_wsss.algorithms.random_walk``, whose main function has its name.
"""
from .bes import (PSEUDO_LABEL_CRF, BESLabels, BoundaryLabels,
                  bes_pseudo_labels, boundary_labels, cam_labels)
from .boundaries import (REGION_BG, REGION_BOUNDARY, REGION_FG, UNCERTAIN,
                         BoundaryCounts, BoundaryPRF, boundary_counts,
                         boundary_prf, gt_boundaries, prf_from_counts,
                         refine_localization_crf,
                         synthesize_boundary_labels,
                         synthesize_boundary_regions, threshold_localization)
from .box_labels import (FOREGROUND_ESTIMATORS, BoxLabels, box_mask,
                         box_masks, box_pseudo_labels, clamp_to_boxes,
                         grabcut_foreground, proposal_foreground,
                         segment_hierarchy, tag_pseudo_labels)
from .instance_crf import (Detections, InstanceMatch, KernelParams,
                           add_stuff_detections,
                           check_detections, dense_kernel,
                           dense_pairwise_messages, instance_map,
                           instance_unaries, local_kernel_weights,
                           local_pairwise_messages, match_instances,
                           matched_targets, mean_field, window_offsets)
from .panoptic import (AP_VOL_THRESHOLDS, APr, ImageInstances, PQStats,
                       Segments, ap_r, ap_r_from_instances,
                       coco_segments_info, id2rgb, image_instances,
                       instance_masks, mask_ious, panoptic_segments,
                       pq_average, pq_per_class, pq_stats, rgb2id,
                       segment_bboxes, to_coco_panoptic, voc_ap)
from .quality import (LabelQuality, confusion_counts, miou_from_counts,
                      seed_quality, supervision_quality, weak_miou)
from .region_growing import cam_seeds, grow_seeds, grow_seeds_batch
from .weak_labels import (class_proportions, image_tags, simulate_points,
                          simulate_scribbles)

__all__ = [
    'PSEUDO_LABEL_CRF', 'BESLabels', 'BoundaryLabels', 'bes_pseudo_labels',
    'boundary_labels', 'cam_labels',
    'REGION_BG', 'REGION_BOUNDARY', 'REGION_FG', 'UNCERTAIN',
    'BoundaryCounts', 'BoundaryPRF', 'boundary_counts', 'boundary_prf',
    'gt_boundaries', 'prf_from_counts', 'refine_localization_crf',
    'synthesize_boundary_labels', 'synthesize_boundary_regions',
    'threshold_localization', 'FOREGROUND_ESTIMATORS', 'BoxLabels',
    'box_mask', 'box_masks', 'box_pseudo_labels', 'clamp_to_boxes',
    'grabcut_foreground', 'proposal_foreground', 'segment_hierarchy',
    'tag_pseudo_labels', 'Detections', 'InstanceMatch',
    'KernelParams', 'add_stuff_detections', 'check_detections',
    'dense_kernel', 'dense_pairwise_messages', 'instance_map',
    'instance_unaries', 'local_kernel_weights', 'local_pairwise_messages',
    'match_instances', 'matched_targets', 'mean_field', 'window_offsets',
    'AP_VOL_THRESHOLDS', 'APr', 'ImageInstances',
    'PQStats', 'Segments', 'ap_r', 'ap_r_from_instances',
    'coco_segments_info', 'id2rgb', 'image_instances', 'instance_masks',
    'mask_ious', 'panoptic_segments', 'pq_average', 'pq_per_class',
    'pq_stats', 'rgb2id', 'segment_bboxes', 'to_coco_panoptic', 'voc_ap',
    'LabelQuality', 'confusion_counts',
    'miou_from_counts', 'seed_quality', 'supervision_quality', 'weak_miou',
    'cam_seeds', 'grow_seeds', 'grow_seeds_batch', 'class_proportions',
    'image_tags', 'simulate_points', 'simulate_scribbles'
]
