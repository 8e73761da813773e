#!/usr/bin/env bash
# Starts the test environment's off-host storage, shaped like the "storage box" VPS operators rent: a separate sshd on
# $HBOPS_STORAGE_ADDRESS (127.0.0.4) on a free port, with its own host key, pid file and log under
# $HBOPS_ENV_DIR/storage, that admits one account ('storage') for SFTP only: ForceCommand internal-sftp, chrooted into a
# root-owned directory, no shell, no forwarding. Inside the chroot:
#   /backups  writable by the account (its home: relative SFTP paths start here), on the machine's disk;
#   /small    writable, a tmpfs of $HBOPS_STORAGE_SMALL_MB MiB (default 8): "storage full" for a dump of tens of MB.
# sshd refuses a ChrootDirectory any of whose components is writable by others, so the chroot cannot live under /tmp:
# it is $HBOPS_STORAGE_CHROOT (default /srv/hbops-testenv-storage).
# The account authenticates with the environment's operator key (made by start-sshd.sh, run that first). Writes:
#   $HBOPS_ENV_DIR/storage/config              Host $HBOPS_STORAGE_ALIAS (a complete block: the main ssh config
#                                              Includes it; usable alone with -F too)
#   $HBOPS_ENV_DIR/storage/known_hosts         the storage sshd's host key ([127.0.0.4]:PORT)
#   $HBOPS_ENV_DIR/storage/storage.json        what tests need (alias, config, paths inside and outside the chroot)
# Idempotent: a running storage sshd is left alone (the files are rewritten from its port). Does not touch the main sshd.
# Usage: start-storage.sh            start-storage.sh --stop   (stops the sshd, unmounts /small, removes the chroot)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
HBOPS_STORAGE_ALIAS="${HBOPS_STORAGE_ALIAS:-storage}"
HBOPS_STORAGE_USER="${HBOPS_STORAGE_USER:-storage}"
HBOPS_STORAGE_ADDRESS="${HBOPS_STORAGE_ADDRESS:-127.0.0.4}"
HBOPS_STORAGE_CHROOT="${HBOPS_STORAGE_CHROOT:-/srv/hbops-testenv-storage}"
HBOPS_STORAGE_SMALL_MB="${HBOPS_STORAGE_SMALL_MB:-8}"
STORAGE_DIR="$HBOPS_ENV_DIR/storage"
SSH_DIR="$HBOPS_ENV_DIR/ssh"

running() { [ -f "$STORAGE_DIR/sshd.pid" ] && kill -0 "$(cat "$STORAGE_DIR/sshd.pid")" 2>/dev/null; }

if [ "${1:-}" = "--stop" ]; then
  if running; then kill "$(cat "$STORAGE_DIR/sshd.pid")"; log "storage sshd stopped"; fi
  rm -f "$STORAGE_DIR/sshd.pid" "$STORAGE_DIR/config"
  if mountpoint -q "$HBOPS_STORAGE_CHROOT/small"; then umount "$HBOPS_STORAGE_CHROOT/small"; fi
  rm -rf -- "$HBOPS_STORAGE_CHROOT"
  exit 0
fi
[ -f "$SSH_DIR/id_ed25519.pub" ] || { log "no operator key at $SSH_DIR/id_ed25519.pub: run start-sshd.sh first"; exit 1; }
command -v /usr/sbin/sshd >/dev/null 2>&1 || apt_install openssh-server
command -v sftp >/dev/null 2>&1 || apt_install openssh-client
mkdir -p /run/sshd "$STORAGE_DIR"
# sshd reads authorized_keys as the account: the folder must be traversable, the file readable.
chmod 755 "$STORAGE_DIR"

# The account: no password (but not locked: '!' makes sshd refuse key logins without PAM), a shell that is no shell
# (internal-sftp runs inside sshd, so none is ever started), home inside the chroot.
if ! id "$HBOPS_STORAGE_USER" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /backups --shell /usr/sbin/nologin "$HBOPS_STORAGE_USER"
fi
usermod -p '*' "$HBOPS_STORAGE_USER"

# The chroot: root-owned and closed to others all the way up; the account writes only below it.
[ -d "$(dirname "$HBOPS_STORAGE_CHROOT")" ] || install -d -o root -g root -m 755 "$(dirname "$HBOPS_STORAGE_CHROOT")"
install -d -o root -g root -m 755 "$HBOPS_STORAGE_CHROOT"
install -d -o "$HBOPS_STORAGE_USER" -g "$HBOPS_STORAGE_USER" -m 700 "$HBOPS_STORAGE_CHROOT/backups"
if ! mountpoint -q "$HBOPS_STORAGE_CHROOT/small"; then
  install -d -o root -g root -m 755 "$HBOPS_STORAGE_CHROOT/small"
  mount -t tmpfs -o "size=${HBOPS_STORAGE_SMALL_MB}m,mode=0700,uid=$(id -u "$HBOPS_STORAGE_USER"),gid=$(id -g "$HBOPS_STORAGE_USER")" \
    hbops-storage-small "$HBOPS_STORAGE_CHROOT/small"
fi

[ -f "$STORAGE_DIR/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C hbops-testenv-storage -f "$STORAGE_DIR/host_ed25519"
install -m 644 "$SSH_DIR/id_ed25519.pub" "$STORAGE_DIR/authorized_keys"

if running; then
  PORT="$(cat "$STORAGE_DIR/port")"
  log "storage sshd already running on $HBOPS_STORAGE_ADDRESS:$PORT"
else
  PORT="$(python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1]); s.close()' "$HBOPS_STORAGE_ADDRESS")"
  cat >"$STORAGE_DIR/sshd_config" <<CFG
# HbOps test environment: off-host storage, SFTP only.
ListenAddress $HBOPS_STORAGE_ADDRESS
Port $PORT
HostKey $STORAGE_DIR/host_ed25519
PidFile $STORAGE_DIR/sshd.pid
AuthorizedKeysFile $STORAGE_DIR/authorized_keys
AllowUsers $HBOPS_STORAGE_USER
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
StrictModes no
Subsystem sftp internal-sftp
ChrootDirectory $HBOPS_STORAGE_CHROOT
ForceCommand internal-sftp
AllowTcpForwarding no
AllowStreamLocalForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
PermitTunnel no
MaxSessions 16
MaxStartups 32:30:64
LogLevel VERBOSE
CFG
  /usr/sbin/sshd -f "$STORAGE_DIR/sshd_config" -E "$STORAGE_DIR/sshd.log"
  echo "$PORT" >"$STORAGE_DIR/port"
fi
printf '[%s]:%s %s\n' "$HBOPS_STORAGE_ADDRESS" "$PORT" "$(cut -d' ' -f1,2 "$STORAGE_DIR/host_ed25519.pub")" >"$STORAGE_DIR/known_hosts"
chmod 644 "$STORAGE_DIR/known_hosts"
cat >"$STORAGE_DIR/config.new" <<CFG
# Generated by tests/env/start-storage.sh: off-host storage reachable by SFTP only (chrooted, no shell).
Host $HBOPS_STORAGE_ALIAS
  HostName $HBOPS_STORAGE_ADDRESS
  Port $PORT
  User $HBOPS_STORAGE_USER
  IdentityFile $SSH_DIR/id_ed25519
  UserKnownHostsFile $STORAGE_DIR/known_hosts
  StrictHostKeyChecking yes
CFG
mv -f "$STORAGE_DIR/config.new" "$STORAGE_DIR/config"
cat >"$STORAGE_DIR/storage.json" <<JSON
{
  "Alias": "$HBOPS_STORAGE_ALIAS",
  "ConfigPath": "$STORAGE_DIR/config",
  "KnownHostsPath": "$STORAGE_DIR/known_hosts",
  "Address": "$HBOPS_STORAGE_ADDRESS",
  "Port": $PORT,
  "User": "$HBOPS_STORAGE_USER",
  "Chroot": "$HBOPS_STORAGE_CHROOT",
  "Root": "/backups",
  "SmallRoot": "/small",
  "SmallBytes": $((HBOPS_STORAGE_SMALL_MB * 1024 * 1024)),
  "PidFile": "$STORAGE_DIR/sshd.pid",
  "LogPath": "$STORAGE_DIR/sshd.log"
}
JSON
chmod 644 "$STORAGE_DIR/storage.json"
for _ in $(seq 1 50); do
  if printf 'pwd\n' | sftp -F "$STORAGE_DIR/config" -o BatchMode=yes -b - "$HBOPS_STORAGE_ALIAS" >/dev/null 2>&1; then
    # key=value lines for the caller (up.sh, CI logs).
    printf 'storage=%s:%s\nstorage_alias=%s\nstorage_config=%s\n' "$HBOPS_STORAGE_ADDRESS" "$PORT" "$HBOPS_STORAGE_ALIAS" "$STORAGE_DIR/config"
    log "storage sshd ready on $HBOPS_STORAGE_ADDRESS:$PORT (alias $HBOPS_STORAGE_ALIAS, SFTP only, chroot $HBOPS_STORAGE_CHROOT)"
    exit 0
  fi
  sleep 0.2
done
log "storage sshd did not answer; see $STORAGE_DIR/sshd.log"; exit 1
