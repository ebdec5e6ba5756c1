#!/bin/sh
# tracebloc CLI installer: downloads the release tarball for this OS/arch (Node bundled), checks it
# against the release's SHA256SUMS, verifies SHA256SUMS' cosign signature, and links `tracebloc` and
# its short name `tb` (the latter only where no other `tb` is in the way).
#   curl -fsSL https://github.com/tracebloc/cli/releases/latest/download/install.sh | sh
#   curl -fsSL .../install.sh | sh -s -- --version 0.2.0 --prefix ~/.local --completion bash
# Signature: SHA256SUMS.sigstore.json is a cosign bundle made by the release workflow (keyless, GitHub
# OIDC). Without cosign on PATH the install stops unless the user opts out explicitly (--skip-signature).
set -eu

REPO_URL="https://github.com/tracebloc/cli"
CERT_IDENTITY_REGEXP="${TRACEBLOC_INSTALL_CERT_IDENTITY_REGEXP:-^https://github\.com/tracebloc/cli/\.github/workflows/release\.yml@refs/tags/v}"
CERT_OIDC_ISSUER="https://token.actions.githubusercontent.com"

version="${TRACEBLOC_VERSION:-}"
base_url="${TRACEBLOC_INSTALL_BASE_URL:-}"
prefix="${TRACEBLOC_INSTALL_PREFIX:-}"
completion="${TRACEBLOC_INSTALL_COMPLETION:-}"
skip_signature="${TRACEBLOC_INSTALL_SKIP_SIGNATURE:-0}"
uninstall=0
staged=""

usage() {
  cat <<'EOF'
Install the tracebloc CLI (Node.js bundled) from a GitHub release.

usage: install.sh [options]          (piped: curl -fsSL URL | sh -s -- [options])

  --version X          install X instead of the latest release        TRACEBLOC_VERSION
  --base-url URL       directory with SHA256SUMS and the tarballs       TRACEBLOC_INSTALL_BASE_URL
                       (mirrors; default: the GitHub release)
  --prefix DIR         install into DIR/lib/tracebloc, link DIR/bin/     TRACEBLOC_INSTALL_PREFIX
                       tracebloc and DIR/bin/tb
                       (default: /usr/local when writable, else ~/.local)
  --completion SHELL   also set up completion: bash, zsh or fish        TRACEBLOC_INSTALL_COMPLETION
  --skip-signature     install without cosign signature verification    TRACEBLOC_INSTALL_SKIP_SIGNATURE=1
                       (the sha256 checksum is always verified)
  --uninstall          remove what this script installed (same --prefix)
EOF
}
say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$1" >&2
  [ $# -gt 1 ] && printf '  %s\n' "$2" >&2
  exit 1
}
need_arg() {
  if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value" "run with --help for usage"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --version) need_arg "$@"; version="$2"; shift 2 ;;
    --version=*) version="${1#*=}"; shift ;;
    --base-url) need_arg "$@"; base_url="$2"; shift 2 ;;
    --base-url=*) base_url="${1#*=}"; shift ;;
    --prefix) need_arg "$@"; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --completion) need_arg "$@"; completion="$2"; shift 2 ;;
    --completion=*) completion="${1#*=}"; shift ;;
    --skip-signature) skip_signature=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option: $1" "run with --help for usage" ;;
  esac
done
version="${version#v}"

# --- where -------------------------------------------------------------------------------------
if [ -z "$prefix" ]; then
  if [ "$(id -u)" = 0 ] || { [ -d /usr/local/bin ] && [ -w /usr/local/bin ] && [ -w /usr/local/lib ]; }; then
    prefix=/usr/local
  else
    [ -n "${HOME:-}" ] || die "HOME is not set and /usr/local is not writable" "pass --prefix DIR"
    prefix="$HOME/.local"
  fi
fi
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac
lib_dir="$prefix/lib/tracebloc"
bin_link="$prefix/bin/tracebloc"
short_link="$prefix/bin/tb"
# tb is ours when it is missing or a link into our install; anything else named tb is left alone.
short_is_ours() {
  if [ ! -e "$short_link" ] && [ ! -L "$short_link" ]; then return 0; fi
  case "$(readlink "$short_link" 2>/dev/null)" in "$lib_dir"/*) return 0 ;; esac
  return 1
}

if [ "$uninstall" = 1 ]; then
  if [ -L "$bin_link" ] || [ -e "$bin_link" ]; then rm -f "$bin_link"; fi
  removed_short=""
  if [ -L "$short_link" ] && short_is_ours; then rm -f "$short_link"; removed_short=" and $short_link"; fi
  rm -rf "$lib_dir"
  say "removed $lib_dir, $bin_link$removed_short"
  say "per-user state (if any): ~/.config/tracebloc, ~/.cache/tracebloc, ~/.local/share/tracebloc"
  exit 0
fi

# --- what --------------------------------------------------------------------------------------
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  MINGW*|MSYS*|CYGWIN*) die "this script does not install on Windows" "use: npm install -g @tracebloc/cli (or the win32-x64 tarball from $REPO_URL/releases)" ;;
  *) die "unsupported OS: $(uname -s)" "use: npm install -g @tracebloc/cli" ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "unsupported CPU architecture: $(uname -m)" "use: npm install -g @tracebloc/cli" ;;
esac
# Rosetta: a shell translated to x86_64 on Apple silicon should still get the native build.
if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
  arch=arm64
fi
target="$os-$arch"

if [ -z "$base_url" ]; then
  if [ -n "$version" ]; then base_url="$REPO_URL/releases/download/v$version"; else base_url="$REPO_URL/releases/latest/download"; fi
fi
base_url="${base_url%/}"

# --- tools -------------------------------------------------------------------------------------
if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --proto '=https,http' --retry 2 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  die "neither curl nor wget is installed" "install one of them and re-run"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  die "neither sha256sum nor shasum is installed" "the download cannot be verified without one of them"
fi
command -v tar >/dev/null 2>&1 || die "tar is not installed"

tmp="$(mktemp -d 2>/dev/null || mktemp -d -t tracebloc)"
cleanup() { rm -rf "$tmp"; [ -n "${staged:-}" ] && rm -rf "$staged"; return 0; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- verify ------------------------------------------------------------------------------------
say "downloading $base_url/SHA256SUMS"
fetch "$base_url/SHA256SUMS" "$tmp/SHA256SUMS" || die "could not download $base_url/SHA256SUMS" "check the version and your network, or set --base-url"

if command -v cosign >/dev/null 2>&1; then
  fetch "$base_url/SHA256SUMS.sigstore.json" "$tmp/SHA256SUMS.sigstore.json" ||
    die "the release has no signature bundle ($base_url/SHA256SUMS.sigstore.json)" "refusing to install unsigned artifacts; pass --skip-signature to accept them anyway"
  if ! cosign verify-blob --bundle "$tmp/SHA256SUMS.sigstore.json" \
      --certificate-identity-regexp "$CERT_IDENTITY_REGEXP" --certificate-oidc-issuer "$CERT_OIDC_ISSUER" \
      "$tmp/SHA256SUMS" >"$tmp/cosign.log" 2>&1; then
    sed 's/^/  cosign: /' "$tmp/cosign.log" >&2
    die "SIGNATURE VERIFICATION FAILED for SHA256SUMS from $base_url" "the release may have been tampered with; nothing was installed"
  fi
  say "signature ok (cosign, $CERT_OIDC_ISSUER)"
elif [ "$skip_signature" = 1 ]; then
  warn "signature NOT verified (--skip-signature); relying on the sha256 checksums alone"
else
  cat >&2 <<EOF

  ##########################################################################
  #  cosign is not installed, so the release signature cannot be verified. #
  ##########################################################################

EOF
  die "refusing to install without signature verification" \
    "install cosign (https://docs.sigstore.dev/cosign/system_config/installation/) and re-run, or opt out explicitly with --skip-signature (TRACEBLOC_INSTALL_SKIP_SIGNATURE=1)"
fi

if [ -n "$version" ]; then pattern="tracebloc-v$(printf '%s' "$version" | sed 's/[.]/\\./g')-[0-9a-f]*-$target\\.tar\\.gz"; else pattern="tracebloc-v[^ ]*-$target\\.tar\\.gz"; fi
matches="$(grep -E "^[0-9a-f]{64}  $pattern\$" "$tmp/SHA256SUMS" || true)"
[ -n "$matches" ] || die "no $target tarball${version:+ for version $version} listed in $base_url/SHA256SUMS"
[ "$(printf '%s\n' "$matches" | wc -l | tr -d ' ')" = 1 ] || die "several $target tarballs listed in SHA256SUMS" "pass --version"
expected="${matches%% *}"
file="${matches##* }"

say "downloading $file"
fetch "$base_url/$file" "$tmp/$file" || die "could not download $base_url/$file"
actual="$(sha256 "$tmp/$file")"
if [ "$actual" != "$expected" ]; then
  die "CHECKSUM MISMATCH for $file: expected $expected, got $actual" "the download is corrupt or was tampered with; nothing was installed"
fi
say "checksum ok ($expected)"

# --- install -----------------------------------------------------------------------------------
mkdir -p "$prefix/lib" "$prefix/bin" 2>/dev/null || die "cannot create $prefix/lib and $prefix/bin" "run as a user who can write there, or pass --prefix ~/.local"
staged="$prefix/lib/.tracebloc.new.$$"
rm -rf "$staged" && mkdir -p "$staged"
tar -xzf "$tmp/$file" -C "$staged" || die "could not unpack $file into $prefix/lib"
[ -x "$staged/tracebloc/bin/tracebloc" ] || die "$file does not contain tracebloc/bin/tracebloc"
# Smoke test before replacing anything: the bundled Node must run on this machine.
new_version="$("$staged/tracebloc/bin/tracebloc" --version 2>&1)" || die "the unpacked CLI does not run here: $new_version"

if [ -e "$lib_dir" ]; then
  rm -rf "$lib_dir.old"
  mv "$lib_dir" "$lib_dir.old"
fi
mv "$staged/tracebloc" "$lib_dir"
rm -rf "$staged" "$lib_dir.old"
staged=""
ln -sf "$lib_dir/bin/tracebloc" "$bin_link"
say "installed $new_version"
say "  $bin_link -> $lib_dir/bin/tracebloc"
if short_is_ours; then
  ln -sf "$lib_dir/bin/tracebloc" "$short_link"
  say "  $short_link -> $lib_dir/bin/tracebloc"
else
  warn "$short_link exists and is not from this install; left it alone (use tracebloc, or remove it and re-run for the short name tb)"
fi

case ":${PATH:-}:" in
  *":$prefix/bin:"*) ;;
  *)
    say ""
    say "$prefix/bin is not on your PATH. Add it, e.g.:"
    say "  echo 'export PATH=\"$prefix/bin:\$PATH\"' >> ~/.profile   # then open a new shell"
    ;;
esac

# --- completion --------------------------------------------------------------------------------
add_line() { # file line: append line once
  touch "$1"
  grep -qF "$2" "$1" 2>/dev/null || printf '\n%s\n' "$2" >>"$1"
}
case "$completion" in
  "") say "" ; say "shell completion: re-run with --completion bash|zsh|fish, or see: tracebloc autocomplete" ;;
  bash|zsh)
    "$bin_link" autocomplete --refresh-cache >/dev/null 2>&1 || die "could not build the completion cache (tracebloc autocomplete --refresh-cache)"
    rc="$HOME/.bashrc"; [ "$completion" = zsh ] && rc="${ZDOTDIR:-$HOME}/.zshrc"
    add_line "$rc" "$("$bin_link" autocomplete script "$completion" | tr -d '\n')"
    say "completion: added to $rc (open a new shell)"
    ;;
  fish)
    dir="${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions"
    mkdir -p "$dir"
    if "$bin_link" autocomplete fish >"$dir/tracebloc.fish.tmp" 2>/dev/null && [ -s "$dir/tracebloc.fish.tmp" ]; then
      mv "$dir/tracebloc.fish.tmp" "$dir/tracebloc.fish"
      # fish loads completions by command name: tb.fish is the same script.
      ln -sf tracebloc.fish "$dir/tb.fish"
      say "completion: wrote $dir/tracebloc.fish (and tb.fish)"
    else
      rm -f "$dir/tracebloc.fish.tmp"
      warn "this version has no fish completion (tracebloc autocomplete fish); bash and zsh are supported"
    fi
    ;;
  *) warn "unknown shell for --completion: $completion (bash, zsh or fish)" ;;
esac
