#!/usr/bin/env bash
# Install the Debian packages the course can use, when possible. Prints what it does; never fails.
#   graphviz               model diagrams (keras.utils.plot_model)
#   fonts-noto-cjk         Chinese text in matplotlib figures
#   dataset-fashion-mnist  the full Fashion-MNIST, offline (utils.data.load_fashion_full)
#   bubblewrap             the grader's sandbox for untrusted student code
#   chromium               the end-to-end browser test
#   postgresql             the shared-gradebook test (a throwaway server on a loopback port)
set -u
packages=(graphviz fonts-noto-cjk dataset-fashion-mnist bubblewrap chromium postgresql)
missing=()
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-deps: not a Debian system; install Graphviz yourself for model diagrams (optional)."
  exit 0
fi
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${missing[*]}"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || echo "system-deps: could not install all of ${missing[*]} (the course still works without them)."
else
  echo "system-deps: optional packages missing: ${missing[*]}"
  echo "             install them with: sudo apt-get install ${missing[*]}"
fi
exit 0
