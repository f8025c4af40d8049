# Every target sets up .venv by itself (pinned requirements.txt + the autograder package).
# nbgrader runs `alembic` through PATH, so the venv's bin/ goes first on PATH.

PYTHON_BOOT ?= python3
VENV        := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MPLBACKEND := Agg
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed

.PHONY: help venv test test-fast demo grade export similarity compare release figures bench reproduce lab lock clean student-kit challenge hub mutation

help:
	@echo "make demo       release, autograde the example submissions, feedback, grades.csv, score table"
	@echo "make test       run the whole test suite (sets up .venv first)"
	@echo "make grade SUBMISSIONS=x.zip   grade a batch of submissions in parallel, verified in a sandbox"
	@echo "make export FORMAT=canvas|moodle|csv [ROSTER=roster.csv]   the grade import file of the LMS"
	@echo "make similarity similarity.html: pairs of students whose code regions are unusually alike"
	@echo "make release    generate release/ from source/ with nbgrader"
	@echo "make figures    redraw the figures of the course text"
	@echo "make bench      time one training step (reference vs PyTorch when installed)"
	@echo "make compare    train the seven optimizers on a short schedule and save the comparison figure"
	@echo "make reproduce  train the seven optimizers with the original schedule (10000 iterations each)"
	@echo "make lab        open JupyterLab on the course"
	@echo "make hub        (as root) the course on a JupyterHub of its own on 127.0.0.1: prints the login URL and accounts"
	@echo "make student-kit  the zip students get: release notebook, helpers, figures, data, README, requirements"
	@echo "make mutation   mutation testing of the grading core: a seeded sample of mutants, the score per module (an hour or more)"
	@echo "make challenge  train the course's configuration of the optional challenge (test error <= 1.5 %)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Debian packages beyond Python (bubblewrap; for the tests also chromium, fonts, node): installed
# when run as root with apt-get, otherwise one message with the command (scripts/system_packages.sh).
test: $(STAMP)
	sh scripts/system_packages.sh test
	$(PY) -m pytest

test-fast: $(STAMP)
	sh scripts/system_packages.sh test
	$(PY) -m pytest -m "not slow"

demo: $(STAMP)
	@sh scripts/system_packages.sh demo
	$(PY) -m autograder.demo

# make grade SUBMISSIONS=path/to/submissions.zip   (or a submitted/<student>/mlp_optimizers/ tree)
grade: $(STAMP)
	@sh scripts/system_packages.sh demo
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<zip or folder> [COURSE=grading] [WORKERS=N]"; exit 2; }
	$(PY) -m autograder.grade "$(SUBMISSIONS)" --course "$(or $(COURSE),grading)" $(if $(WORKERS),--workers $(WORKERS))

# make export FORMAT=canvas|moodle|csv [ROSTER=roster.csv] [COURSE=grading]   (grades into the LMS)
export: $(STAMP)
	$(PY) -m autograder.lms_export "$(or $(FORMAT),csv)" --course "$(or $(COURSE),grading)" $(if $(ROSTER),--roster "$(ROSTER)")

# make similarity [COURSE=grading]   (similarity.html next to report.html; never changes a score)
similarity: $(STAMP)
	$(PY) -m autograder.similarity --course "$(or $(COURSE),grading)"

compare: $(STAMP)
	$(PY) -m autograder.experiments --schedule short --out results/compare

figures: $(STAMP)
	$(PY) scripts/draw_figures.py source/mlp_optimizers/images

bench: $(STAMP)
	$(PY) benchmarks/bench_step.py

reproduce: $(STAMP)
	$(PY) -m autograder.experiments --schedule full --out results/reproduce

student-kit: $(STAMP)
	$(PY) scripts/student_kit.py --out results/student_kit/mlp_optimizers_student.zip

challenge: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) -m autograder.experiments --challenge --out results/challenge

# make mutation [MUTANTS=240] [SEED=22]   (not part of make test; docs/mutation.md)
MUTATION_STAMP := $(VENV)/.mutation-installed
$(MUTATION_STAMP): requirements-mutation.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-mutation.txt
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	$(PY) scripts/mutation.py --sample $(or $(MUTANTS),240) --seed $(or $(SEED),22)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab

lock:
	rm -rf /tmp/course-lock && $(PYTHON_BOOT) -m venv /tmp/course-lock
	/tmp/course-lock/bin/pip install --quiet -e .
	( echo "# Pinned environment of the course (pip freeze). Regenerate with: make lock"; \
	  /tmp/course-lock/bin/pip freeze --exclude-editable ) > requirements.txt

clean:
	rm -rf $(VENV) .pytest_cache results

release: $(STAMP)
	$(VENV)/bin/nbgrader generate_assignment mlp_optimizers --force

# make hub [HUB_ARGS="--students alice,bob --port 8080 --short-schedule"]   (as root; README: Running the course on JupyterHub)
hub:
	$(PYTHON_BOOT) deploy/jupyterhub/course_hub.py up $(HUB_ARGS)
