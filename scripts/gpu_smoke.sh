#!/usr/bin/env bash
# envcheck on a real GPU machine with no network (run from the repository root, results under $OUT):
# inspect --deep / doctor / plan, `smoke torch` on cuda, then mmcv 2.1.0 compiled with the build settings
# of the plan's compile step, and the whole smoke on cuda:0. The image must hold torch (+CUDA, nvcc);
# .whl/ holds what it lacks, fetched where pip works, for the machine's Python (here cp312):
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl mmengine==0.10.7 mmdet==3.3.0 addict yapf platformdirs \
#     termcolor pycocotools shapely terminaltables setuptools==69.5.1
#   plus the mmcv-2.1.0.tar.gz sdist from PyPI (pip download cannot: its setup.py needs pkg_resources).
# Run on an H200 (torch 2.11.0+cu130, nvcc 13.0, Python 3.12) on 2026-11-26: see README, "smoke".
set -u
export PYTHONUNBUFFERED=1
REPO=$PWD
E="python3 -m envcheck"
export PYTHONPATH=$REPO
R=$OUT/reports.txt
{ echo "## nvidia-smi -L"; nvidia-smi -L; nvcc --version | tail -2; python3 -V; } > $R 2>&1
s=$SECONDS; $E inspect --deep --json > $OUT/inspect.json 2>> $R; echo "inspect --deep --json: exit $? in $((SECONDS-s)) s" >> $R
s=$SECONDS; { echo "## envcheck (rich report)"; $E inspect --deep; echo "exit $? in $((SECONDS-s)) s"; } >> $R 2>&1
{ echo "## envcheck plan mmdet --torch keep"; $E plan mmdet --torch keep; echo "exit $?"; } >> $R 2>&1
$E plan mmdet --torch keep --json > $OUT/plan.json 2>> $R
{ echo "## envcheck plan mmdet (free)"; $E plan mmdet; echo "exit $?"; } >> $R 2>&1
s=$SECONDS; $E smoke torch --device cuda --json > $OUT/smoke-torch.json 2>> $R; echo "smoke torch: exit $? in $((SECONDS-s)) s" >> $R
# the stack: pure-Python wheels beside the image's torch, numpy, opencv-headless, scipy, matplotlib
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl >> $R 2>&1
export PYTHONPATH=/tmp/site:$REPO
# mmcv 2.1.0 with the environment the plan's compile step names (FORCE_CUDA, TORCH_CUDA_ARCH_LIST, MAX_JOBS)
BUILD_ENV=$(python3 -c "
import json,shlex; p=json.load(open('$OUT/plan.json'))
s=[x for x in p.get('steps',[]) if x.get('compiles')]
print(' '.join(f'{k}={shlex.quote(v)}' for k,v in (s[0]['env'] if s else {}).items()))")
echo "## build env from the plan: $BUILD_ENV" >> $R
s=$SECONDS
env $BUILD_ENV MAX_JOBS=16 timeout 390 python3 -m pip wheel -v --no-deps --no-build-isolation --no-index \
  -w /tmp/wh .whl/mmcv-2.1.0.tar.gz > /tmp/build.log 2>&1
rc=$?; echo "mmcv build: exit $rc in $((SECONDS-s)) s" >> $R
tail -c 200000 /tmp/build.log > $OUT/build.log
[ $rc -eq 0 ] || exit 0
python3 -m pip install -q --no-index --no-deps --target /tmp/site /tmp/wh/mmcv-*.whl >> $R 2>&1
s=$SECONDS
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 $E smoke --device cuda:0 --timeout 150 --json --junit $OUT/smoke.xml > $OUT/smoke.json 2>> $R
echo "smoke all on cuda:0: exit $? in $((SECONDS-s)) s" >> $R
s=$SECONDS; { echo "## smoke mmengine without TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"; $E smoke mmengine --device cuda:0; } >> $R 2>&1
echo "done in $SECONDS s" >> $R
