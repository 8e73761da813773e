#!/usr/bin/env bash
# Brings the whole HbOps test environment up (idempotent): Docker engine without a bridge,
# local postgres:15 and postgres:17 images, sshd on loopback with an operator-style alias, production-like
# containers (15, 17 and a second 15 with its own database). Writes $HBOPS_ENV_DIR/env.json for tests and the demo.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
apt_install docker.io openssh-server openssh-client iproute2 busybox-static postgresql-15 python3 shellcheck fish tcsh zsh mksh age
bash "$ENV_SCRIPTS_DIR/start-docker.sh"
bash "$ENV_SCRIPTS_DIR/build-postgres-image.sh" 15
bash "$ENV_SCRIPTS_DIR/build-postgres-image.sh" 15 nofdw
bash "$ENV_SCRIPTS_DIR/build-postgres-debian-image.sh" 17 trixie
bash "$ENV_SCRIPTS_DIR/start-sshd.sh"
bash "$ENV_SCRIPTS_DIR/start-bastion.sh" 2 >/dev/null
bash "$ENV_SCRIPTS_DIR/start-agent.sh" >/dev/null
bash "$ENV_SCRIPTS_DIR/start-storage.sh" >/dev/null
bash "$ENV_SCRIPTS_DIR/start-production.sh"
HBOPS_PROD_CONTAINER="$HBOPS_PROD17_CONTAINER" HBOPS_PROD_VOLUME="$HBOPS_PROD17_VOLUME" HBOPS_PG_IMAGE="$HBOPS_PG17_IMAGE" \
  bash "$ENV_SCRIPTS_DIR/start-production.sh"
HBOPS_PROD_CONTAINER="$HBOPS_PRODSHOP_CONTAINER" HBOPS_PROD_VOLUME="$HBOPS_PRODSHOP_VOLUME" HBOPS_PROD_DB="$HBOPS_PRODSHOP_DB" \
  HBOPS_PROD_USER="$HBOPS_PRODSHOP_DB" bash "$ENV_SCRIPTS_DIR/start-production.sh"
SSH_DIR="$HBOPS_ENV_DIR/ssh"
cat >"$HBOPS_ENV_DIR/hbops.yml" <<YML
# HbOps targets for the local test environment.
targets:
  contabo-directus:
    sshHost: $HBOPS_SSH_ALIAS
    sshConfigPath: $SSH_DIR/config
    container: $HBOPS_PROD_CONTAINER
    database: $HBOPS_PROD_DB
    user: $HBOPS_PROD_USER
    backupRoot: $HBOPS_ENV_DIR/backups
    tag: target
    keyTables: [public.dot_tools, app.orders]
  contabo-directus17:
    sshHost: $HBOPS_SSH_ALIAS
    sshConfigPath: $SSH_DIR/config
    container: $HBOPS_PROD17_CONTAINER
    database: $HBOPS_PROD_DB
    user: $HBOPS_PROD_USER
    backupRoot: $HBOPS_ENV_DIR/backups
    tag: target17
  jump-shop:
    sshHost: $HBOPS_SSH_ALIAS-jump
    sshConfigPath: $SSH_DIR/config
    container: $HBOPS_PRODSHOP_CONTAINER
    database: $HBOPS_PRODSHOP_DB
    user: $HBOPS_PRODSHOP_DB
    backupRoot: $HBOPS_ENV_DIR/backups
    tag: shop
YML
cat >"$HBOPS_ENV_DIR/env.json" <<JSON
{
  "EnvDir": "$HBOPS_ENV_DIR",
  "SshAlias": "$HBOPS_SSH_ALIAS",
  "Operator": "$HBOPS_OPERATOR",
  "RootAlias": "$HBOPS_SSH_ALIAS-root",
  "NoDockerAlias": "$HBOPS_SSH_ALIAS-nodocker",
  "LockedAlias": "$HBOPS_SSH_ALIAS-locked",
  "JumpAlias": "$HBOPS_SSH_ALIAS-jump",
  "TwoHopAlias": "$HBOPS_SSH_ALIAS-2hop",
  "AgentSocket": "$HBOPS_ENV_DIR/agent/agent.sock",
  "BastionLogs": ["$HBOPS_ENV_DIR/bastion1/sshd.log", "$HBOPS_ENV_DIR/bastion2/sshd.log"],
  "SshConfigPath": "$SSH_DIR/config",
  "KnownHostsPath": "$SSH_DIR/known_hosts",
  "KeyFile": "$SSH_DIR/id_ed25519",
  "AuthorizedKeysPath": "$HBOPS_ENV_DIR/authorized/authorized_keys",
  "SshPort": $(cat "$SSH_DIR/port"),
  "Container": "$HBOPS_PROD_CONTAINER",
  "Database": "$HBOPS_PROD_DB",
  "User": "$HBOPS_PROD_USER",
  "Image": "$HBOPS_PG_IMAGE",
  "Container17": "$HBOPS_PROD17_CONTAINER",
  "Image17": "$HBOPS_PG17_IMAGE",
  "OtherShells": [$(for sh_name in $HBOPS_OTHER_SHELLS; do printf '%s{"Shell": "%s", "Alias": "%s", "BackupRoot": "%s"}' "${sep:-}" "$sh_name" "$HBOPS_SSH_ALIAS-$sh_name" "$HBOPS_ENV_DIR/backups-$sh_name"; sep=', '; done)],
  "ContainerShop": "$HBOPS_PRODSHOP_CONTAINER",
  "DatabaseShop": "$HBOPS_PRODSHOP_DB",
  "BackupRoot": "$HBOPS_ENV_DIR/backups",
  "ConfigPath": "$HBOPS_ENV_DIR/hbops.yml"
}
JSON
log "environment ready: $HBOPS_ENV_DIR/env.json"
