#!/bin/bash
# Build (or reuse) the Debian trixie chroot holding a real GIMP 3.0 for kmq's GIMP tests.
#
#   tests/gimp/build_root.sh [ROOT]        (as root; ROOT defaults to
#                                           ${KMQ_GIMP_ROOT:-/var/cache/kmq-gimp3-root})
#
# The Python packages are kmq_core's dependencies as Debian ships them, so GIMP's own
# Python can import kmq_core (the plug-in's import path); keep them in step with
# pyproject.toml (tests/test_gimp_plugin.py fails when the import path breaks).
# Why a chroot: the host is Debian 12, whose GIMP is 2.10 without Python; Debian 13
# (trixie) ships GIMP 3.0.4 with Python 3.13 + PyGObject. Two stages on purpose:
# debootstrap's own resolver cannot handle GIMP's virtual dependencies.
#
# Idempotent and safe to rerun:
#  - ROOT/.kmq-ready exists and lists the same packages -> nothing to do (exit 0 fast);
#  - ROOT already holds a GIMP 3 (e.g. built by the reference build-chroot.sh) -> only the
#    missing packages are installed;
#  - otherwise debootstrap from scratch (about 2-3 minutes, 1.8 GB).
# The palette-import probe (tests/gimp/probe/*.c) is compiled inside the chroot into
# ROOT/opt/kmq-probe/<sha>/ so a changed source is rebuilt.
# All mounts happen inside a private mount namespace (unshare -m): they vanish with the
# process, never leak onto the host and never disturb a concurrent run.
# The ready marker is written last.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
R=${1:-${KMQ_GIMP_ROOT:-/var/cache/kmq-gimp3-root}}
PKGS="gimp python3-gi gir1.2-gimp-3.0 python3-numpy python3-opencv python3-skimage python3-pil python3-scipy python3-threadpoolctl python3-numba
      xauth xvfb xdotool x11-apps gcc libc6-dev"
PKGS=$(echo $PKGS)                       # one line
MARK="$R/.kmq-ready"

[ "$(id -u)" = 0 ] || { echo "build_root.sh: must run as root (debootstrap, chroot, mount)" >&2; exit 2; }
case "$R" in /|/usr|/usr/*|/etc|/etc/*|/bin|/lib|"") echo "build_root.sh: refusing ROOT=$R" >&2; exit 2;; esac

probe_src="$HERE/probe/gimp-palette-probe.c"
probe_sha=$(sha256sum "$probe_src" | cut -c1-16)
probe_rel="opt/kmq-probe/$probe_sha/gimp-palette-probe.so"

if [ -f "$MARK" ] && grep -qxF "packages: $PKGS" "$MARK" && [ -f "$R/$probe_rel" ]; then
    echo "build_root.sh: $R is ready"
    exit 0
fi

mkdir -p "$(dirname "$R")"
exec 9>"$R.lock"                          # one builder at a time
flock 9
# re-check after waiting for a concurrent builder
if [ -f "$MARK" ] && grep -qxF "packages: $PKGS" "$MARK" && [ -f "$R/$probe_rel" ]; then
    echo "build_root.sh: $R is ready"; exit 0
fi
rm -f "$MARK"
S=$(date +%s)

if [ ! -x "$R/usr/bin/apt-get" ] || [ ! -x "$R/usr/bin/dpkg" ] || [ ! -f "$R/etc/debian_version" ] \
   || ! grep -q '^13\|trixie' "$R/etc/debian_version"; then
    command -v debootstrap >/dev/null || {
        echo "build_root.sh: installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null ||
            { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap; }
    }
    if [ -e "$R" ] && [ -n "$(ls -A "$R" 2>/dev/null)" ]; then
        # a half-built root from an interrupted run: only remove something that looks like one
        [ -d "$R/var/lib/dpkg" ] || [ -d "$R/debootstrap" ] || {
            echo "build_root.sh: $R exists, is not empty and is not a debootstrap root; remove it or pick another ROOT" >&2; exit 2; }
        echo "build_root.sh: removing incomplete root $R"
        rm -rf --one-file-system "$R"
    fi
    mkdir -p "$R"
    echo "build_root.sh: debootstrap trixie into $R"
    unshare --mount --propagation private debootstrap --variant=minbase trixie "$R"
    echo "build_root.sh: debootstrap took $(( $(date +%s) - S ))s"
fi

# stage 2: packages (+ probe), inside a private mount namespace
unshare --mount --propagation private /bin/bash -euo pipefail -c '
R=$1; PKGS=$2; PROBE_SRC=$3; PROBE_REL=$4
mount --bind /proc "$R/proc"; mount --rbind /dev "$R/dev"; mount --bind /sys "$R/sys"
[ -s "$R/etc/resolv.conf" ] || cp /etc/resolv.conf "$R/etc/resolv.conf"
ch() { chroot "$R" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
          DEBIAN_FRONTEND=noninteractive "$@"; }
missing=$(ch dpkg-query -W -f="\${Package} \${Status}\n" $PKGS 2>/dev/null | awk "\$4==\"installed\"{print \$1}" | sort || true)
want=$(printf "%s\n" $PKGS | sort)
if [ "$missing" != "$want" ]; then
    ch apt-get update -q
    ch apt-get install -y -q --no-install-recommends $PKGS
    ch apt-get clean
fi
mkdir -p "$R/$(dirname "$PROBE_REL")"
cp "$PROBE_SRC" "$R/$(dirname "$PROBE_REL")/"
ch gcc -shared -fPIC -O2 -o "/$PROBE_REL" "/$(dirname "$PROBE_REL")/gimp-palette-probe.c" -ldl
' bash "$R" "$PKGS" "$probe_src" "$probe_rel"

test -x "$R/usr/bin/gimp-console-3.0" || { echo "build_root.sh: gimp-console-3.0 missing in $R" >&2; exit 1; }
{ echo "built: $(date -u +%FT%TZ)"; echo "packages: $PKGS"; echo "probe: /$probe_rel"; } > "$MARK.tmp"
mv "$MARK.tmp" "$MARK"
echo "build_root.sh: $R ready ($(( $(date +%s) - S ))s)"
