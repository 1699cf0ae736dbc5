#!/usr/bin/env bash
# Install the Debian packages the suite and its tests use, when they are missing and we are root.
# Without root, say what is missing and go on: tests that need a missing tool skip with a reason.
set -u
pkgs=(libopus0 libsndfile1 espeak-ng sox opus-tools chromium texlive-latex-base texlive-latex-recommended)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing system packages: ${missing[*]} (install them with your package manager;" \
       "without them the related systems and tests are unavailable)" >&2
  exit 0
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "setup: apt-get failed for ${missing[*]}; continuing" >&2
