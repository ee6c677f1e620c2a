#!/usr/bin/env bash
# Makes the Rust toolchain that rust-toolchain.toml pins available. When the
# machine's stable toolchain is that very release, it is linked under the
# pinned name (no download); otherwise rustup installs it, with the
# components and targets the file lists.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
if rustup toolchain list | grep -q "^$want-"; then
  echo "toolchain: Rust $want is installed"
  exit 0
fi
stable="$(RUSTUP_TOOLCHAIN=stable rustc --version 2>/dev/null | cut -d' ' -f2 || true)"
if [[ "$stable" == "$want" ]]; then
  host="$(RUSTUP_TOOLCHAIN=stable rustc -vV | sed -n 's/^host: //p')"
  sysroot="$(RUSTUP_TOOLCHAIN=stable rustc --print sysroot)"
  ln -sfn "$sysroot" "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$want-$host"
  echo "toolchain: the machine's stable is Rust $want; linked it under that name"
else
  echo "toolchain: installing Rust $want (the machine's stable is ${stable:-missing})"
  rustup toolchain install "$want" --profile minimal --component rustfmt,clippy \
    --target x86_64-unknown-linux-gnu,aarch64-unknown-linux-gnu
fi
