# Sourced by scripts/test: what the browser tests of the admin console
# need. Debian's Chromium and ChromeDriver (installed when missing, with
# apt as root or through sudo) and axe-core, the automated accessibility
# checker, fetched from the npm registry into target/axe-core/ (a test
# tool run inside the browser; never part of ferrid's build).
AXE_CORE_VERSION=4.10.3

# shellcheck source=scripts/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  ferrid_apt_install chromium chromium-driver || true
fi
command -v npm >/dev/null 2>&1 || ferrid_apt_install npm || true

axe_dir=target/axe-core
if [ ! -f "$axe_dir/axe.min.js" ] || [ "$(cat "$axe_dir/VERSION" 2>/dev/null)" != "$AXE_CORE_VERSION" ]; then
  if command -v npm >/dev/null 2>&1; then
    rm -rf "$axe_dir" && mkdir -p "$axe_dir"
    (cd "$axe_dir" && npm pack --silent "axe-core@$AXE_CORE_VERSION" >/dev/null \
      && tar xzf "axe-core-$AXE_CORE_VERSION.tgz" package/axe.min.js \
      && mv package/axe.min.js . && rmdir package && rm "axe-core-$AXE_CORE_VERSION.tgz" \
      && echo "$AXE_CORE_VERSION" > VERSION)
  else
    echo "NOTE: npm is missing, so axe-core cannot be fetched"
  fi
fi
export BROWSER_TEST_AXE_JS="$PWD/$axe_dir/axe.min.js"
