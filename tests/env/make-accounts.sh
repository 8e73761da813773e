#!/usr/bin/env bash
# Creates the docker host's accounts as real servers have them: a non-root operator in the docker group whose login
# shell prints on every SSH exec channel (stdout and stderr, one line without a final newline), and an account without
# docker access. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
getent group docker >/dev/null || groupadd --system docker
for u in "$HBOPS_OPERATOR" "$HBOPS_NODOCKER_USER" "$HBOPS_LOCKED_USER"; do
  id "$u" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$u"
  # No password, but not locked ('!' makes sshd refuse even key logins without PAM): key-only accounts.
  usermod -p '*' "$u"
done
usermod -aG docker "$HBOPS_OPERATOR"
# Debian's bash reads ~/.bashrc for commands sshd starts; real hosts print motd-like lines, tool initialisers' warnings
# and stty complaints there. The lines come before the usual "not interactive: return".
for u in "$HBOPS_OPERATOR" "$HBOPS_NODOCKER_USER"; do
  home="$(getent passwd "$u" | cut -d: -f6)"
  cat >"$home/.bashrc" <<'RC'
# HbOps test environment: a login shell that prints, as on real servers.
echo "Welcome to $(hostname) - managed by config management, changes will be overwritten"
echo "rm: cannot remove '$HOME/.pyenv/shims/.pyenv-shim': No such file or directory" >&2
printf 'Last backup check: OK'
printf 'stty: standard input: Inappropriate ioctl for device' >&2
case $- in *i*) ;; *) return ;; esac
RC
  chown "$u:$u" "$home/.bashrc"
done
# An account whose start-up file prints and exits before any command runs (a locked or misconfigured account).
home="$(getent passwd "$HBOPS_LOCKED_USER" | cut -d: -f6)"
printf '%s\n' 'echo "This account is currently not available for commands (maintenance)."' 'exit 1' >"$home/.bashrc"
chown "$HBOPS_LOCKED_USER:$HBOPS_LOCKED_USER" "$home/.bashrc"
# Operators with other login shells (the one thing that differs: how their shell reads the command line sshd hands
# it, and which start-up files it reads for a command). Each has its own backup root.
for sh_name in $HBOPS_OTHER_SHELLS; do
  u="ops-$sh_name"; shell_path="$(command -v "$sh_name")"
  id "$u" >/dev/null 2>&1 || useradd --create-home --shell "$shell_path" "$u"
  usermod -p '*' -s "$shell_path" -aG docker "$u"
  home="$(getent passwd "$u" | cut -d: -f6)"
  case $sh_name in
    fish) mkdir -p "$home/.config/fish"
          printf '%s\n' 'echo "fish: welcome to (hostname)"' 'echo "fish: a warning from an initialiser" >&2' 'printf "no newline"' >"$home/.config/fish/config.fish" ;;
    tcsh) printf '%s\n' 'echo "tcsh: welcome"' 'sh -c "echo tcsh: a warning >&2"' 'printf "no newline"' >"$home/.tcshrc" ;;
    zsh)  printf '%s\n' 'echo "zsh: welcome"' 'echo "zsh: a warning" >&2' 'printf "no newline"' >"$home/.zshenv" ;;
    *)    ;; # mksh and dash read no start-up file for a command
  esac
  chown -R "$u:$u" "$home"
  mkdir -p "$HBOPS_ENV_DIR/backups-$sh_name"
  chown "$u:$u" "$HBOPS_ENV_DIR/backups-$sh_name"
  chmod 700 "$HBOPS_ENV_DIR/backups-$sh_name"
done
# The operator's backup root on the docker host.
mkdir -p "$HBOPS_ENV_DIR/backups"
chown "$HBOPS_OPERATOR:$HBOPS_OPERATOR" "$HBOPS_ENV_DIR/backups"
chmod 700 "$HBOPS_ENV_DIR/backups"
