#!/usr/bin/env bash
# Sourced by the test scripts: ferrid_apt_install PACKAGE... installs
# missing Debian packages, as root or through sudo, so the README's test
# command works on a fresh machine that has only Rust.
ferrid_apt_install() {
  local missing=()
  local package
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing ${missing[*]} for the tests..."
  local run=()
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "NOTE: cannot install ${missing[*]} (not root, no sudo)" >&2
      return 1
    fi
    run=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${run[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || { "${run[@]}" apt-get update -q \
      && "${run[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; }
}
