#!/usr/bin/env bash
# Builds a local PostgreSQL image (no registry is reachable) from the host's PostgreSQL
# binaries plus busybox, shaped like the official image.
# Usage: build-postgres-image.sh [MAJOR] [nofdw]
#   nofdw: build hbops-test/postgres:MAJOR-nofdw without the postgres_fdw extension (restores that
#   need it fail, which the tests use to prove fatal errors fail a restore test).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
MAJOR="${1:-15}"
VARIANT="${2:-}"
IMAGE="postgres:$MAJOR"
[ "$VARIANT" = "nofdw" ] && IMAGE="hbops-test/postgres:$MAJOR-nofdw"
# Bumped whenever the image's shape changes, so an older build is replaced.
IMAGE_REVISION=3
if [ "$(docker image inspect -f '{{index .Config.Labels "hbops.testenv"}}' "$IMAGE" 2>/dev/null)" = "$IMAGE_REVISION" ] &&
   [ "${HBOPS_REBUILD_IMAGE:-0}" != "1" ]; then
  log "image $IMAGE already present"; exit 0
fi
apt_install "postgresql-$MAJOR" busybox-static
PGLIB="/usr/lib/postgresql/$MAJOR"
PGSHARE="/usr/share/postgresql/$MAJOR"
ROOTFS="$(mktemp -d "$HBOPS_ENV_DIR/rootfs.XXXXXX")"
trap 'rm -rf "$ROOTFS"' EXIT
log "assembling rootfs for $IMAGE"
mkdir -p "$ROOTFS"/{bin,etc,tmp,var/run/postgresql,var/lib/postgresql,docker-entrypoint-initdb.d,usr/lib/locale,usr/share}
chmod 1777 "$ROOTFS/tmp"
cp /bin/busybox "$ROOTFS/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$ROOTFS/bin/$applet" ] || ln -s busybox "$ROOTFS/bin/$applet"
done
mkdir -p "$ROOTFS$PGLIB" "$ROOTFS$PGSHARE"
cp -a "$PGLIB/." "$ROOTFS$PGLIB/"
cp -a "$PGSHARE/." "$ROOTFS$PGSHARE/"
cp -a /usr/share/zoneinfo "$ROOTFS/usr/share/"
[ -d /usr/lib/locale/C.utf8 ] && cp -a /usr/lib/locale/C.utf8 "$ROOTFS/usr/lib/locale/"
# Every shared library the binaries and modules name, plus the dynamic loader.
LIBS="$( (find "$PGLIB/bin" "$PGLIB/lib" -type f \( -perm -u+x -o -name '*.so' \) -print0 |
  xargs -0 ldd 2>/dev/null || true) | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u)"
for lib in $LIBS; do
  cp -L --parents "$lib" "$ROOTFS/"
done
# Resolve merged-/usr loader paths too (/lib64 -> /usr/lib64 on some hosts).
for l in /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1; do
  [ -e "$l" ] && cp -L --parents "$l" "$ROOTFS/" || true
done
cat >"$ROOTFS/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh
PASSWD
cat >"$ROOTFS/etc/group" <<'GROUP'
root:x:0:
postgres:x:999:
GROUP
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$ROOTFS/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' >"$ROOTFS/etc/hosts"
if [ "$VARIANT" = "nofdw" ]; then
  rm -f "$ROOTFS$PGSHARE"/extension/postgres_fdw* "$ROOTFS$PGLIB"/lib/postgres_fdw.so
fi
install -m 0755 "$ENV_SCRIPTS_DIR/postgres-entrypoint.sh" "$ROOTFS/usr/local-entrypoint.sh"
log "importing $IMAGE"
tar -C "$ROOTFS" -c . | docker import \
  --change 'ENTRYPOINT ["/usr/local-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  --change "ENV PATH=$PGLIB/bin:/bin:/usr/bin PGDATA=/var/lib/postgresql/data LANG=C.UTF-8" \
  --change 'VOLUME /var/lib/postgresql/data' \
  --change 'EXPOSE 5432' \
  --change "ENV PG_MAJOR=$MAJOR PG_VERSION=$("$PGLIB/bin/postgres" --version | awk '{print $3}')" \
  --change "LABEL hbops.testenv=$IMAGE_REVISION" \
  - "$IMAGE" >/dev/null
log "image $IMAGE built ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
