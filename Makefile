# The team's vocabulary; CI calls the same targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck crds e2e bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,ssh,sprites]'
	touch $(STAMP)

# The main job on the embedded default: a local API, the operator, a demo pool, a demo task.
run: install
	$(BIN)/orchestrator dev --demo

# The whole suite: lint (incl. import layers), types, then every test (crds/ drift included).
test: lint typecheck
	$(BIN)/pytest -q -n 2

lint: install
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/lint-imports --no-logo --no-cache

typecheck: install
	$(BIN)/mypy

crds: install
	$(BIN)/orchestrator crds --output crds
	cp crds/*.yaml charts/sprite-orchestrator/crds/

# A kind cluster: build and load the image, install the chart, run a task, delete the cluster.
# Skips with a message where Docker, kind or kubectl is missing.
e2e: install
	$(BIN)/pytest -q -rs -m e2e --timeout=2400 tests/e2e

# matplotlib and py-spy (the `bench` extra) draw the plots and profile; installed alone, not
# with -e, so a worktree's `make bench` never repoints a shared editable install.
bench: install
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/pip install --quiet 'matplotlib>=3.9'
	test -x $(BIN)/py-spy || $(BIN)/pip install --quiet 'py-spy>=0.4'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# The operator's image (Containerfile), the one the Helm chart's default values name.
# CONTAINER_TOOL: docker, podman or buildah (all three take `build -f -t`).
IMAGE          ?= sprite-orchestrator:$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
CONTAINER_TOOL ?= docker
.PHONY: image image-test

image:
	$(CONTAINER_TOOL) build -f Containerfile -t $(IMAGE) .

# Opt-in, for machines that cannot pull a base image: as root, debootstrap a Debian base,
# build the image on it with buildah (no daemon), and run `orchestrator version` inside.
# HOST_CA reaches pip in the build (a proxy's CA, if any). Claude Code is left out.
IMAGE_TEST_DIR ?= build/image-test
DEBIAN_MIRROR  ?= http://deb.debian.org/debian
HOST_CA        ?= /etc/ssl/certs/ca-certificates.crt
BUILDAH        := buildah --storage-driver vfs
TEST_BASE      := localhost/sprite-orchestrator-base:bookworm

image-test:
	@command -v buildah >/dev/null && command -v debootstrap >/dev/null || { \
	  echo "make image-test needs root, buildah and debootstrap (apt-get install buildah debootstrap)"; exit 2; }
	rm -rf $(IMAGE_TEST_DIR) && mkdir -p $(IMAGE_TEST_DIR)
	debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
	  bookworm $(IMAGE_TEST_DIR)/rootfs $(DEBIAN_MIRROR) > $(IMAGE_TEST_DIR)/debootstrap.log
	set -e; ctr=$$($(BUILDAH) from scratch); mnt=$$($(BUILDAH) mount $$ctr); \
	  cp -a $(IMAGE_TEST_DIR)/rootfs/. $$mnt/; $(BUILDAH) umount $$ctr; \
	  $(BUILDAH) commit -q $$ctr $(TEST_BASE) >/dev/null; $(BUILDAH) rm $$ctr >/dev/null
	$(BUILDAH) bud --isolation chroot --build-arg BASE=$(TEST_BASE) --build-arg CLAUDE_CODE_VERSION= \
	  --build-arg PIP_CERT=/etc/ssl/host-ca.crt -v $(HOST_CA):/etc/ssl/host-ca.crt:ro \
	  -f Containerfile -t localhost/$(IMAGE)-test .
	set -e; ctr=$$($(BUILDAH) from localhost/$(IMAGE)-test); \
	  $(BUILDAH) run --isolation chroot $$ctr -- orchestrator version; $(BUILDAH) rm $$ctr >/dev/null
	rm -rf $(IMAGE_TEST_DIR)/rootfs
