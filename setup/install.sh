#!/usr/bin/env bash
# Install agenticmail from this checkout: Dovecot (apt-get or Homebrew), a virtualenv in .venv
# with the package, then `agenticmail setup --yes` (which also starts the daemon).
#   setup/install.sh            install, set up, start the daemon
#   setup/install.sh --dev      install with the test extras; do not set up or start
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

have_dovecot() { command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] \
  || [ -x /opt/homebrew/sbin/dovecot ] || [ -x /usr/local/sbin/dovecot ]; }

if ! have_dovecot; then
  if command -v apt-get >/dev/null 2>&1; then
    step "Installing Dovecot (dovecot-imapd dovecot-lmtpd) with apt-get"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      dovecot-imapd dovecot-lmtpd >/dev/null
    # agenticmail runs its own private Dovecot; the system-wide service is not needed.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet dovecot 2>/dev/null; then
      sudo_if_needed systemctl disable --now dovecot || true
    fi
  elif command -v brew >/dev/null 2>&1; then
    step "Installing Dovecot with Homebrew"
    brew install dovecot
  else
    echo "error: Dovecot is not installed and neither apt-get nor brew is available." >&2
    echo "hint: install Dovecot 2.3 (imapd + lmtpd) with your package manager, then re-run." >&2
    exit 1
  fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is needed (found: $("$python" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  step "Creating .venv"
  "$python" -m venv .venv
fi
step "Installing agenticmail into .venv"
.venv/bin/python -m pip install -q --upgrade pip
if [ "$dev" -eq 1 ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
  # the Email Worker's tests run it in workerd (wrangler, pinned in tests/worker/package-lock.json)
  if command -v npm >/dev/null 2>&1; then
    step "Installing wrangler (workerd) for the Email Worker's tests into tests/worker"
    (cd tests/worker && npm ci --no-audit --no-fund --loglevel=error)
  else
    echo "note: npm not found: the Email Worker's workerd tests will be skipped" >&2
  fi
  step "Done. Run the tests with: .venv/bin/python -m pytest"
  exit 0
fi
.venv/bin/python -m pip install -q .

step "Setting up and starting the daemon (keys, database, config in \${AGENTICMAIL_HOME:-~/.agenticmail})"
# setup --yes also starts the mail host and the daemon; its summary ends with the next commands
.venv/bin/agenticmail setup --yes
bin_dir="$(pwd)/.venv/bin"
echo
echo "agenticmail is running. Its command is $bin_dir/agenticmail; to call it as 'agenticmail':"
echo "  export PATH=\"$bin_dir:\$PATH\""
