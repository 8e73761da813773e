#!/usr/bin/env bash
# Shared settings for the HbOps test environment scripts. Sourced, not run.
set -euo pipefail

HBOPS_ENV_DIR="${HBOPS_ENV_DIR:-/tmp/hbops-testenv}"
HBOPS_PG_IMAGE="${HBOPS_PG_IMAGE:-postgres:15}"
HBOPS_PROD_CONTAINER="${HBOPS_PROD_CONTAINER:-postgres}"
HBOPS_PROD_VOLUME="${HBOPS_PROD_VOLUME:-hbops-testenv-pgdata}"
# The second major (built from Debian trixie's package) and its production-like container.
HBOPS_PG17_IMAGE="${HBOPS_PG17_IMAGE:-postgres:17}"
HBOPS_PROD17_CONTAINER="${HBOPS_PROD17_CONTAINER:-postgres17}"
HBOPS_PROD17_VOLUME="${HBOPS_PROD17_VOLUME:-hbops-testenv-pgdata17}"
# A third production-like container (PostgreSQL 15, its own database and role) for runs over many targets; the
# config file reaches it through the jump host, so two targets share a host and one is reached another way.
HBOPS_PRODSHOP_CONTAINER="${HBOPS_PRODSHOP_CONTAINER:-postgres-shop}"
HBOPS_PRODSHOP_VOLUME="${HBOPS_PRODSHOP_VOLUME:-hbops-testenv-pgdata-shop}"
HBOPS_PRODSHOP_DB="${HBOPS_PRODSHOP_DB:-shop}"
HBOPS_PROD_DB="${HBOPS_PROD_DB:-directus}"
HBOPS_PROD_USER="${HBOPS_PROD_USER:-directus}"
HBOPS_SSH_ALIAS="${HBOPS_SSH_ALIAS:-contabo}"
# The account the tests reach the docker host as (non-root, docker group, noisy login shell), and one without docker.
HBOPS_OPERATOR="${HBOPS_OPERATOR:-ops}"
HBOPS_NODOCKER_USER="${HBOPS_NODOCKER_USER:-nodocker}"
HBOPS_LOCKED_USER="${HBOPS_LOCKED_USER:-locked}"
# Operators whose login shell is not bash (sshd runs every command through it): one account per shell, in the docker
# group, named ops-<shell>, each with start-up files that print on both streams; alias $HBOPS_SSH_ALIAS-<shell>.
HBOPS_OTHER_SHELLS="${HBOPS_OTHER_SHELLS:-fish tcsh zsh mksh dash}"
HBOPS_ENV_LABEL="hbops.testenv=true"
ENV_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '[hbops-env] %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then log "must run as root"; exit 1; fi
}

# apt_install PKG... installs the Debian packages that are missing, once.
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

docker_ready() { docker info >/dev/null 2>&1; }
