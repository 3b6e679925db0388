#!/usr/bin/env bash
# The main job, from a fresh clone: install everything (idempotent), generate
# the embedded synthetic corrosion dataset, train the default recipe on it,
# then test the final checkpoint (metrics + an overlay per validation image),
# without and with the dense-CRF post-processing.
#   bash tools/demo.sh [CONFIG] [train.py args...]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/centroid/centroid_attention-unet-s5_1k_demo-corrosion-128x128.py}
VENV=${VENV:-.venv}
bash tools/install.sh
PY="$VENV/bin/python"
"$PY" tools/dataset/make_demo_data.py data/demo_corrosion
WORK_DIR=work_dirs/$(basename "$CONFIG" .py)
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "${@:2}"
CKPT=$(cat "$WORK_DIR/last_checkpoint")
"$PY" tools/test.py "$CONFIG" "$CKPT" \
    --work-dir "$WORK_DIR" --show-dir "$WORK_DIR/overlays"
# The method's last step, dense-CRF post-processing of the network's softmax
# (Centroid Loss paper, SV-F): metrics before and after, refined overlays.
"$PY" tools/analysis/crf_refine.py "$CONFIG" "$CKPT" "$WORK_DIR/crf"
"$PY" - "$WORK_DIR/crf/crf_report.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
print('demo: test mIoU %.2f (network), %.2f (network + dense CRF)'
      % (r['raw']['mIoU'], r['crf']['mIoU']))
PYEOF
echo "demo: metrics in $WORK_DIR (log) and $WORK_DIR/crf/crf_report.json;" \
    "overlays in $WORK_DIR/overlays and $WORK_DIR/crf/overlays"
