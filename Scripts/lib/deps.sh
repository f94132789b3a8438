#!/usr/bin/env bash
# Sourced by the other scripts: makes sure the machine has what Rumor builds with (a Swift 6 toolchain, checked;
# pkg-config and libsodium-dev, installed with apt-get when missing).
rumor_ensure_deps() {
  if ! command -v swift >/dev/null 2>&1; then
    echo "rumor: no 'swift' on PATH; install a Swift 6 toolchain from swift.org first" >&2
    return 1
  fi
  if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libsodium 2>/dev/null; then
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "rumor: libsodium-dev is missing and this user cannot install it (not root, no sudo)" >&2
      return 1
    fi
  fi
  echo "rumor: installing pkg-config and libsodium-dev with apt-get" >&2
  $sudo apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq pkg-config libsodium-dev >&2 || return 1
  pkg-config --exists libsodium || { echo "rumor: libsodium still not found by pkg-config" >&2; return 1; }
}
