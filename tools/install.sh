#!/usr/bin/env bash
# One install entry point: makes (or reuses) a virtual environment with CPU torch, mmcv built with
# its compiled ops, the OpenMMLab stack and mmseg_wsss in editable mode. Idempotent: a second run
# with nothing changed only checks a stamp and the mmcv ops import (a few seconds).
#
#   VENV=.venv PYTHON=python3 bash tools/install.sh
#
# GPU users: skip this script and install a prebuilt mmcv for their torch/CUDA instead, e.g.
#   pip install -U openmim && mim install "mmcv>=2.0.0,<2.2.0" && pip install -e .
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
MMCV_VERSION=${MMCV_VERSION:-2.1.0}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)
stamp="$VENV/.mmseg_wsss-install"
want=$(cat setup.py requirements/*.txt tools/install.sh | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$PY" -c 'import mmcv._ext, mmseg, mmdet, pydensecrf, mmseg_wsss, mim' 2>/dev/null; then
  echo "install: $VENV is up to date"
  exit 0
fi

echo "install: torch $TORCH_VERSION (CPU build)"
"${PIP[@]}" "torch==$TORCH_VERSION"
# mmcv's setup.py imports pkg_resources (gone in setuptools 81) and must see the installed torch,
# hence the pin and --no-build-isolation; MMCV_WITH_OPS=1 compiles mmcv._ext (~20 min on 2 cores,
# then pip's wheel cache makes reinstalls quick).
"${PIP[@]}" "setuptools>=77,<81" ninja wheel
if ! "$PY" -c 'import mmcv._ext' 2>/dev/null; then
  echo "install: building mmcv $MMCV_VERSION with compiled ops (about 20 minutes on 2 cores the first time)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "${PIP[@]}" --no-build-isolation "mmcv==$MMCV_VERSION"
fi
echo "install: OpenMMLab stack, pydensecrf, test requirements and mmseg_wsss (editable)"
"${PIP[@]}" -r requirements/runtime.txt -r requirements/tests.txt
"${PIP[@]}" --no-build-isolation --no-deps -e .
# openmim (for `mim train mmseg ... --launcher pytorch`) pins setuptools to
# 60.2 through openxlab; torch and the mmcv build need >=77: restore the pin.
"${PIP[@]}" openmim
"${PIP[@]}" "setuptools>=77,<81"
"$PY" -c 'import mmcv._ext, mmseg, mmdet, pydensecrf, mmseg_wsss, mim'
echo "$want" > "$stamp"
echo "install: done ($VENV)"
