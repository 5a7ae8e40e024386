#!/usr/bin/env bash
# Prepare a checkout for benchmarks/gpu_check.py on a GPU machine WITHOUT network access that has torch and CuPy
# but not the notebook stack (see benchmarks/GPU.md, "A machine without network access"):
#
#   .whl/         wheels of the notebook stack (papermill, ipykernel, ipywidgets, plotly and their dependencies;
#                 CPython 3.12, x86-64), ~25 MB
#   .gpu_shared/  the part of ../shared (reference cases, annotations) that the GPU tests, bench_eval and notebook 04
#                 read, ~25 MB; only when ../shared is beside the checkout
#
# Both folders are excluded through git's info/exclude: copy the checkout together with them.
# Needs: network access to PyPI for `pip download` (~20 s).
# Run from anywhere:  bash benchmarks/gpu_wheels.sh [--no-wheels] [--no-shared]
#
# Assumed present on the GPU machine (not downloaded): torch, CuPy, numpy, pandas, pytest, PyYAML, tqdm, tensorboard,
# matplotlib, jinja2, requests, attrs, narwhals (the IMAGE list below). Use the torch and CuPy builds that match
# the machine's CUDA driver.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
wheels=1 shared=1
for a in "$@"; do
  case $a in
    --no-wheels) wheels=0 ;;
    --no-shared) shared=0 ;;
    *) echo "usage: $0 [--no-wheels] [--no-shared]" >&2; exit 2 ;;
  esac
done

exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
for p in /.whl/ /.gpu_shared/; do grep -qxF "$p" "$exclude" 2>/dev/null || echo "$p" >>"$exclude"; done

# versions as resolved in the project's CPU venv (ENVIRONMENT.md §1), one of each
WHEELS=(
  papermill==2.7.0 nbclient==0.11.0 nbformat==5.11.1 ipykernel==7.4.0 ipywidgets==8.1.9 plotly==7.1.0
  jupyter-client==8.10.0 jupyter-core==5.9.1 traitlets==5.16.1 platformdirs==4.14.8 pyzmq==27.3.0 tornado==6.6.1
  comm==0.2.3 debugpy==1.8.22 nest-asyncio2==1.7.4 matplotlib-inline==0.2.2
  ipython==9.18.1 ipython-pygments-lexers==1.1.1 jedi==0.20.1 parso==0.8.7 pexpect==4.9.0 ptyprocess==0.7.0
  prompt-toolkit==3.0.53 wcwidth==0.9.4 stack-data==0.6.3 asttokens==3.0.2 executing==2.3.0 pure-eval==0.2.4
  widgetsnbextension==4.0.16 jupyterlab-widgets==3.0.17
  fastjsonschema==2.22.3 jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1
  entrypoints==0.4.2 tenacity==9.2.1
)
if [ "$wheels" = 1 ]; then
  rm -rf .whl && mkdir -p .whl
  platforms=()
  for n in 17 24 27 28 31 34 35 39; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${WHEELS[@]}"
  echo ".whl: $(ls .whl | wc -l) wheels, $(du -sh .whl | cut -f1)"
  # every requirement of a downloaded wheel (for CPython 3.12 on Linux) is downloaded or assumed present
  "$PY" - <<'CHECK'
import re, zipfile
from pathlib import Path
try:
    from packaging.markers import Marker
except ImportError:
    from pip._vendor.packaging.markers import Marker
IMAGE = """attrs certifi charset-normalizer click idna jinja2 markupsafe packaging psutil pygments python-dateutil pyyaml
requests six tqdm typing-extensions urllib3 narwhals numpy pandas matplotlib pytest tensorboard torch aiohttp""".split()
ENV = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux", "platform_system": "Linux",
       "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython",
       "platform_machine": "x86_64", "extra": ""}
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
wheels = list(Path(".whl").glob("*.whl"))
have = {norm(w.name.split("-")[0]) for w in wheels} | {norm(n) for n in IMAGE}
missing = set()
for w in wheels:
    with zipfile.ZipFile(w) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        for line in z.read(meta).decode().splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            req = line.split(":", 1)[1].strip()
            name, _, marker = req.partition(";")
            if marker and not Marker(marker).evaluate(ENV):
                continue
            dep = norm(re.match(r"[A-Za-z0-9_.-]+", name.strip()).group(0))
            if dep not in have:
                missing.add(f"{dep} (for {w.name})")
print("requirements: all downloaded or assumed present" if not missing else "MISSING: " + ", ".join(sorted(missing)))
raise SystemExit(1 if missing else 0)
CHECK
fi

if [ "$shared" = 1 ]; then
  src=../shared
  [ -d "$src/refcases" ] || { echo "no $src/refcases beside the checkout (use --no-shared)" >&2; exit 1; }
  rm -rf .gpu_shared
  files=(
    refcases/edge_cases.json refcases/nms
    refcases/anet_tad refcases/anet_tad_extscore/expected.json refcases/anet_tad_extscore/proposals.csv
    refcases/anet_tad_extscore/cls_scores.json.gz refcases/ego4d_mq refcases/ego4d_nlq/expected.json
    refcases/ego4d_nlq/predictions_ego4d_format.json refcases/charades_sta refcases/charades_tad/expected.json
    refcases/charades_tad/predictions.csv refcases/charades_tad/frame_scores_tiefree_subset.txt.gz
    refcases/anet_captions/expected.json refcases/anet_captions/raw_predictions_val_2.csv.gz
    annotations/derived annotations/charades/Charades_v1_test.csv annotations/ego4d/mq/clip_annotations_not_filter.json
    annotations/ego4d/nlq/nlq_val.json annotations/anet/captiondata/val_2.json
  )
  for f in "${files[@]}"; do
    mkdir -p ".gpu_shared/$(dirname "$f")"
    cp -R "$src/$f" ".gpu_shared/$f"
  done
  chmod -R u+w .gpu_shared
  echo ".gpu_shared: $(du -sh .gpu_shared | cut -f1)"
fi
echo "to copy: $(du -shc .whl .gpu_shared 2>/dev/null | tail -1 | cut -f1) in .whl/ and .gpu_shared/ +" \
  "$(git ls-files -z | du -shc --files0-from=- | tail -1 | cut -f1) of tracked files"
