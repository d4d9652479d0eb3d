# CNN 手写体识别 — course commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-deps
# nbgrader shells out to alembic, the tests to jupyter and nbgrader: use the course's bin/ first.
export PATH := $(BIN):$(PATH)

# `make lab` options (the browser test overrides them to run headless on a loopback port
# and on a temporary copy of the notebooks).
LAB_PORT ?= 8888
LAB_FLAGS ?=
NOTEBOOKS ?= $(CURDIR)/notebooks
# An nbgrader exchange folder turns on the student's assignment list (fetch / submit).
EXCHANGE ?=
# The course's own Jupyter configuration (jupyter/): the student's view and the instructor's.
# Passed with --config, so the user's ~/.jupyter stays untouched; kernels and extensions come
# from the course's environment first.
JUPYTER_DIR := $(CURDIR)/jupyter
LAB_ENV := JUPYTER_PREFER_ENV_PATH=1
KERNEL_NAME := cnn-course
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help install system-deps lab lab-instructor test notebooks data clean bench grade grade-report bench-grade

help:
	@echo "make lab        安装环境（首次）并在 notebooks/ 上打开 JupyterLab / set up and open JupyterLab"
	@echo "               NOTEBOOKS=目录 换一个笔记本目录 / serve another folder; EXCHANGE=目录 打开 nbgrader 作业列表 / assignment list"
	@echo "make lab-instructor  教师视图：仓库根目录 + Formgrader / Create Assignment / instructor view"
	@echo "make test       安装环境（首次）并运行全部测试 / set up and run the whole test suite"
	@echo "make notebooks  由 solutions/ 重新生成学生版 notebooks/ / regenerate the student notebooks"
	@echo "make data       重新生成 data/ 中的数据文件 / regenerate the shipped data files"
	@echo "make bench      运行基准测试，写入 bench/RESULTS.md / run the benchmarks"
	@echo "make grade SUBMISSIONS=export.zip  收集、沙箱评分、反馈、报告 / grade a class from an LMS export"
	@echo "make grade-report  重新生成成绩与逐题报告 / rebuild grades.csv and the per-question report"
	@echo "make bench-grade   评分性能基准：本地进程池、Dask、评分主进程开销、每个学生的 CPU / grading benchmark (N=16, OWNER_N=1000)"
	@echo "make install    只安装环境 / only create the environment"
	@echo "make clean      删除虚拟环境与临时文件 / remove the environment and caches"

install: $(STAMP) $(SYSTEM_STAMP)

# On a CUDA machine (nvidia-smi lists a GPU; or GPU=1) the environment gets TensorFlow's CUDA
# build, tensorflow[and-cuda], at the version pinned for tensorflow-cpu, and TensorFlow then uses
# the GPU by itself. GPU= (empty) forces the CPU build.
GPU ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
REQUIREMENTS := $(if $(GPU),$(VENV)/requirements-gpu.txt,requirements.txt)

$(VENV)/requirements-gpu.txt: requirements.txt
	@mkdir -p $(VENV)
	sed 's/^tensorflow-cpu==/tensorflow[and-cuda]==/' requirements.txt > $@

# The Python environment: created once, re-installed only when the requirements change.
$(STAMP): requirements.txt pyproject.toml $(if $(GPU),$(VENV)/requirements-gpu.txt)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r $(REQUIREMENTS)
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL_NAME) --display-name "Python 3 (CNN 课程)" >/dev/null
	@touch $@

# Debian packages the course uses when they are there (Graphviz for model diagrams, a CJK
# font, the full Fashion-MNIST, bubblewrap for the grader's sandbox). Installed when we are
# root and apt-get exists; otherwise a note says what is missing. Never fatal.
$(SYSTEM_STAMP): scripts/system_deps.sh | $(STAMP)
	@bash scripts/system_deps.sh
	@touch $@

system-deps:
	@bash scripts/system_deps.sh

# JUPYTER_CONFIG_PATH: nbgrader's Validate and assignment list read jupyter/student/nbgrader_config.py.
lab: install
	$(LAB_ENV) JUPYTER_CONFIG_PATH="$(JUPYTER_DIR)/student$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))" CNN_COURSE_EXCHANGE="$(if $(EXCHANGE),$(abspath $(EXCHANGE)))" \
		$(BIN)/jupyter lab --config="$(JUPYTER_DIR)/student.py" \
		--ServerApp.root_dir="$(abspath $(NOTEBOOKS))" \
		--ServerApp.port=$(LAB_PORT) \
		--LabApp.default_url="/lab/tree/lab01_data/lab01_data.ipynb" \
		$(ROOT_FLAG) $(LAB_FLAGS)

# Runs in grader/ so that nbgrader's Formgrader finds grader/nbgrader_config.py.
lab-instructor: install
	cd grader && $(LAB_ENV) $(BIN)/jupyter lab --config="$(JUPYTER_DIR)/instructor.py" \
		--ServerApp.root_dir="$(CURDIR)" \
		--ServerApp.port=$(LAB_PORT) \
		--LabApp.default_url="/lab/tree/solutions/lab01_data/lab01_data.ipynb" \
		$(ROOT_FLAG) $(LAB_FLAGS)

test: install
	$(PY) -m pytest -p no:cacheprovider -n 2 --dist loadscope --durations=12 --nbval-lax tests solutions

notebooks: install
	$(PY) -m grader release --clean

data: install
	$(PY) scripts/make_data.py

# Grading a class (README: 教师评分 / Grading a class). Workspace: grading/ (GRADING_DIR=...).
SUBMISSIONS ?=
GRADING_DIR ?= grading
WORKERS ?=
GRADE_FLAGS ?=
GRADER = $(PY) -m grader
GRADING_WS = --workspace $(GRADING_DIR)

grade: install
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/export.zip [WORKERS=N] [LABS=lab01_data]"; exit 2; }
	$(GRADER) collect "$(SUBMISSIONS)" $(GRADING_WS)
	$(GRADER) autograde $(LABS) $(GRADING_WS) $(if $(WORKERS),--workers $(WORKERS)) $(GRADE_FLAGS)
	$(GRADER) feedback $(LABS) $(GRADING_WS)
	$(GRADER) report $(GRADING_WS)

grade-report: install
	$(GRADER) report $(GRADING_WS)

N ?= 16
OWNER_N ?= 1000
bench-grade: install
	$(PY) scripts/bench_grading.py -n $(N)
	$(PY) scripts/bench_owner.py -n $(OWNER_N)
	$(PY) scripts/bench_student.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Benchmarks (issue: series cost, quality, full scale, scaling). Writes bench/results.json and
# bench/RESULTS.md. BENCH_ARGS="--parts series" runs one part; the others are kept.
BENCH_ARGS ?=
bench: install
	$(PY) -m bench $(BENCH_ARGS)
