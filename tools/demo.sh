#!/usr/bin/env bash
# The main job, from a fresh clone: install everything (idempotent), generate
# the embedded synthetic corrosion dataset, train the default recipe on it,
# then test the final checkpoint (metrics + an overlay per validation image).
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
"$PY" tools/test.py "$CONFIG" "$(cat "$WORK_DIR/last_checkpoint")" \
    --work-dir "$WORK_DIR" --show-dir "$WORK_DIR/overlays"
echo "demo: metrics in $WORK_DIR (log), overlays in $WORK_DIR/overlays"
