#!/usr/bin/env bash
# The examples' dataset: Fashion-MNIST, which `npm start` ingests into the lake as mnist_clean,
# from Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist). Run by
# setup.sh. When the files are missing it installs the package if that needs no one's answer —
# as root, or through passwordless sudo (`sudo -n` never prompts) — and otherwise prints one line
# with the command that does it. It never fails and never waits for input: a machine without
# the dataset still starts, and the examples then say what is missing.
#   LAKERAY_MNIST_DIR=<folder>  the files live there instead (nothing is installed; missing ones are reported)
#   LAKERAY_SKIP_DATASET=1      do nothing
set -uo pipefail
cd "$(dirname "$0")/.."
DEBIAN_DIR=/usr/share/datasets/fashion-mnist
PKG=dataset-fashion-mnist
UPSTREAM=https://github.com/zalandoresearch/fashion-mnist
DIR="${LAKERAY_MNIST_DIR:-$DEBIAN_DIR}"
# An earlier install that failed (no network, a broken apt): not retried at every start.
FAILED=.lakeray/fashion-mnist-install-failed

[ "${LAKERAY_SKIP_DATASET:-0}" = 1 ] && exit 0
say() { echo "lakeray setup: $*" >&2; }
present() {
  local f
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$DIR/$f" ] || [ -f "$DIR/$f.gz" ] || return 1
  done
}
present && exit 0

if [ "$DIR" != "$DEBIAN_DIR" ]; then
  say "no Fashion-MNIST files in $DIR (LAKERAY_MNIST_DIR), so the examples cannot ingest it. Fix: put the four *-ubyte.gz files of $UPSTREAM there"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "Fashion-MNIST is not installed, so the examples cannot ingest it. Fix: download the four *-ubyte.gz files of $UPSTREAM into a folder and set LAKERAY_MNIST_DIR to it"
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  say "Fashion-MNIST is not installed, so the examples cannot ingest it. Fix: sudo apt-get install $PKG"
  exit 0
fi
fix="${as_root:+sudo }apt-get install $PKG"
if [ -f "$FAILED" ]; then
  say "Fashion-MNIST is not installed (installing it failed before, see $FAILED). Fix: $fix"
  exit 0
fi

say "installing Debian's $PKG for the examples (31 MB, once)…"
apt() { DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get -y -qq -o Dpkg::Use-Pty=0 "$@" </dev/null >"$FAILED.log" 2>&1; }
mkdir -p .lakeray
# A fresh machine may have no package lists yet: update once if the package is not known.
if { apt install "$PKG" || { apt update && apt install "$PKG"; }; } && present; then
  rm -f "$FAILED.log"
  say "Fashion-MNIST installed in $DIR"
  exit 0
fi
mv -f "$FAILED.log" "$FAILED" 2>/dev/null || date >"$FAILED"
say "could not install $PKG (see $FAILED), so the examples cannot ingest Fashion-MNIST. Fix: $fix"
exit 0
