# Two entry points for a fresh machine: `make demo` (set up, then run the workbench on the embedded synthetic
# benchmark) and `make test` (the test suite, as CI runs it). The other targets are their building blocks.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= notebooks,dev,text,video
DEMO ?= runs/demo
SYNTHETIC ?= data/synthetic

.PHONY: venv test lint format demo synthetic notebooks compare bench clean

# torch is pinned exactly (pyproject.toml): on the CPU machine this takes the local 2.13.0 CPU wheel
$(BIN)/unimd: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0 -e '.[$(EXTRAS)]'
	touch $@

venv: $(BIN)/unimd

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: venv lint
	$(BIN)/python -m pytest -n 2 tests

synthetic: venv
	test -f $(SYNTHETIC)/config.yaml || $(BIN)/unimd make-synthetic --out $(SYNTHETIC) --text-encoder random

# the demo: synthetic benchmark → co-training run → its predictions scored with the official protocols → the five
# notebooks executed into $(DEMO)/notebooks (01, 04, 05 on the co-training run; 02 with 8 epochs per task; 03 as a
# one-seed smoke run of the comparison with a tiny model: `make compare` is the real one)
NB := $(BIN)/unimd notebooks run --out $(DEMO)/notebooks -p interactive false -p run_root ../$(DEMO)
demo: synthetic
	$(BIN)/unimd train --config $(SYNTHETIC)/config.yaml --task all --out $(DEMO)/cotrain --resume --no-progress
	$(BIN)/unimd evaluate ego4d_mq --gt $(SYNTHETIC)/tad.json --pred $(DEMO)/cotrain/predictions/validation_tad.csv
	$(NB) --only 01 04 05 -p run_dir ../$(DEMO)/cotrain
	$(NB) --only 02 -p overrides '["opt.epochs=8"]'
	$(NB) --only 03 -p quick true -p seeds '[0]'
	@echo "demo done: $(DEMO)/cotrain (run folder), $(DEMO)/notebooks (executed notebooks)"

notebooks: synthetic
	$(BIN)/unimd notebooks run --out runs/notebooks

# the co-training claim in miniature (README table): 4 schemes x 3 seeds, MR with a quarter of its training data,
# 14 + 2 epochs per training (18 trainings in under 30 minutes on 2 CPU cores)
compare: synthetic
	$(BIN)/unimd compare --config $(SYNTHETIC)/config.yaml --seeds 0 1 2 --set data.mr.train_fraction=0.25 --set opt.epochs=14 \
	  --out runs/compare --no-progress

bench: venv
	$(BIN)/python benchmarks/bench_eval.py
	$(BIN)/python benchmarks/bench_nms.py
	$(BIN)/python benchmarks/bench_train_step.py --bf16
	$(BIN)/python benchmarks/bench_predict.py --bf16
	$(BIN)/python benchmarks/bench_extract.py
	$(BIN)/python benchmarks/bench_long_video.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
