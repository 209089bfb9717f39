# shellcheck shell=bash
# Sourced by .ci/run (listed in ci/env.sh): installs Debian's Chromium and its WebDriver for the
# browser suite (`cargo test -p xtask --test browser_real_tools -- --ignored`). Safe to run twice:
# apt-get runs only when a program is missing. Progress goes to stderr.
#
# Debian's packages, because browser downloads (Playwright, puppeteer, Chrome for Testing) cannot
# reach their hosts from our machines; `chromium-driver` always matches `chromium`'s version.

ci_chromium_install() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "ci/chromium.sh: $(chromium --version 2>/dev/null) and chromedriver already installed" >&2
    return 0
  fi
  echo "ci/chromium.sh: installing ${missing[*]} with apt-get" >&2
  # Fonts too: without them a headless page renders text as boxes in the screenshots.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core fonts-liberation2 >&2
  echo "ci/chromium.sh: $(chromium --version 2>/dev/null) installed" >&2
}

ci_chromium_install
unset -f ci_chromium_install
