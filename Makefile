# The course's commands. `make lab` opens the course, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KERNEL := attention-course
# Learners get what the lessons import (make lab); developers add the test and lint tools.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
GRADEBOOK ?= gradebook.csv
FEEDBACK ?= feedback
OVERRIDES ?= overrides.csv
GRADESCOPE_ZIP ?= build/gradescope/autograder.zip
# Debian's Chromium drives the browser tests (Playwright's own download needs the network).
CHROMIUM := /usr/lib/chromium/chromium
FONTS := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: install install-dev lab test exercises bench grade gradescope lint browser-deps slides site

# Create/refresh .venv from the pinned constraints with what the lessons need; redone only when
# the pins change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) \
		--display-name "Python 3 (attention course)" > /dev/null
	@touch $(STAMP)
	@echo "installed .venv with kernel '$(KERNEL)'"

# The developers' tools on top: pytest, nbgrader, Playwright, the reference libraries, ruff.
$(DEV_STAMP): $(STAMP)
	$(PIP) -e ".[dev]"
	@touch $(DEV_STAMP)
	@echo "installed the test and development tools in .venv"

install: $(STAMP)

install-dev: $(DEV_STAMP)

# Learners work in my_work/ (git-ignored): each exercise is copied there once, never overwritten.
lab: install
	@$(BIN)/python -m course_lib.tools.exercises --learner-copy
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb

# Installs Chromium and a font with apt, only when they are missing (quick otherwise).
browser-deps:
	@test -x $(CHROMIUM) -a -f $(FONTS) || { \
		echo "installing Debian's chromium and fonts-dejavu-core for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium fonts-dejavu-core > /dev/null; }

# COURSE_REQUIRE_BROWSER=1: a missing browser fails the browser tests instead of skipping them.
test: install-dev browser-deps
	COURSE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest tests notebooks solutions --nbval-lax \
		--nbval-kernel-name $(KERNEL) --nbval-cell-timeout 300 --timeout 900

exercises: install
	$(BIN)/python -m course_lib.tools.exercises

bench: install-dev
	$(BIN)/python -m course_lib.tools.benchmark $(if $(LESSON),--lesson $(LESSON),)

# SUBMISSIONS: <student>/<exercise>.ipynb folders, or an unzipped Canvas or Moodle download.
# Optional: OVERRIDES (applied when the file exists), DEADLINE and LATE_PENALTY (e.g. 10%/day),
# LATE_CAP, TIMES (Moodle's grading worksheet), LMS_CSV="canvas grades.csv" or "moodle ws.csv",
# CLASS_REPORT=dir.
grade: install
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=dir [GRADEBOOK=gradebook.csv] [FEEDBACK=feedback] [OVERRIDES=overrides.csv] [DEADLINE=2025-03-01T23:59 LATE_PENALTY=10%/day] [LMS_CSV='canvas canvas.csv'] [CLASS_REPORT=class-report]"; exit 2; }
	$(BIN)/course-grade $(SUBMISSIONS) --csv $(GRADEBOOK) --feedback $(FEEDBACK) \
		$(if $(wildcard $(OVERRIDES)),--overrides $(OVERRIDES),) \
		$(if $(DEADLINE),--deadline "$(DEADLINE)",) \
		$(if $(LATE_PENALTY),--late-penalty "$(LATE_PENALTY)",) \
		$(if $(LATE_CAP),--late-cap "$(LATE_CAP)",) \
		$(if $(TIMES),--submission-times "$(TIMES)",) \
		$(if $(LMS_CSV),--lms-csv $(LMS_CSV),) \
		$(if $(CLASS_REPORT),--class-report $(CLASS_REPORT),)

# A Gradescope autograder zip (setup.sh, run_autograder, the course); EXERCISE=ID for one exercise.
gradescope: install
	$(BIN)/python -m course_lib.grading.gradescope build --out $(GRADESCOPE_ZIP) \
		$(if $(EXERCISE),--exercise $(EXERCISE),)

slides: install
	$(BIN)/python -m course_lib.tools.slides --out build/slides

# build/site: the student site (no instructor material); TEACHER=1: build/site-teacher, the whole kit.
site: install
	$(BIN)/python -m course_lib.tools.site $(if $(filter 1 yes true,$(TEACHER)),--teacher,)

lint: install-dev
	$(BIN)/ruff check course_lib tests
	$(BIN)/ruff format --check course_lib tests
