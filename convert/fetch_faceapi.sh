#!/usr/bin/env bash
# fetch_faceapi.sh - `make weights`: gets face-api's trained models and converts them.
#
#   bash convert/fetch_faceapi.sh CACHE_DIR
#
# 1. the npm package @vladmandic/face-api@1.7.15 (MIT) into CACHE_DIR, with `npm pack` (or, without
#    npm, curl/wget of the same registry tarball), unless CACHE_DIR already holds it;
# 2. its sha512 must equal FACEAPI_SHA512 (the registry's dist.integrity, pinned in the Makefile,
#    here in hex); a mismatch stops with the two values and removes nothing else;
# 3. package/model/ is unpacked into CACHE_DIR/model;
# 4. convert/faceapi.py writes weights/faceapi_recognition.bin and weights/faceapi_agegender.bin
#    (atomically; needs python3-numpy).
# Without npm, curl, wget or network it says, in one line, how to get the tarball by hand.
set -euo pipefail
cache=${1:?usage: fetch_faceapi.sh CACHE_DIR}
pkg=${FACEAPI_PKG:?set by the Makefile}
want=${FACEAPI_SHA512:?set by the Makefile}
tgz="$cache/vladmandic-face-api-${pkg##*@}.tgz"
url="https://registry.npmjs.org/@vladmandic/face-api/-/face-api-${pkg##*@}.tgz"
mkdir -p "$cache"

if [ ! -s "$tgz" ]; then
  ok=0
  if command -v npm >/dev/null; then
    npm pack "$pkg" --pack-destination "$cache" --silent >/dev/null 2>"$cache/npm.log" && ok=1
  fi
  if [ $ok = 0 ] && command -v curl >/dev/null; then
    curl -fsSL "$url" -o "$tgz.part" 2>/dev/null && mv "$tgz.part" "$tgz" && ok=1
  elif [ $ok = 0 ] && command -v wget >/dev/null; then
    wget -q "$url" -O "$tgz.part" && mv "$tgz.part" "$tgz" && ok=1
  fi
  if [ $ok = 0 ] || [ ! -s "$tgz" ]; then
    rm -f "$tgz.part"
    echo "make weights: cannot download $pkg (no npm/curl/wget or no network); get $url by hand (e.g. 'npm pack $pkg' elsewhere), put it at $tgz and run make weights again" >&2
    exit 1
  fi
fi

got=$(sha512sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "make weights: $tgz: sha512 $got, expected $want (the registry's dist.integrity for $pkg); delete it and retry" >&2
  exit 1
fi

rm -rf "$cache/model" "$cache/package"
tar xzf "$tgz" -C "$cache" package/model package/LICENSE
mv "$cache/package/model" "$cache/model"
mv "$cache/package/LICENSE" "$cache/LICENSE"
rmdir "$cache/package"

py=/usr/bin/python3
if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo "make weights: the converter needs python3-numpy (make deps, or apt-get install python3-numpy)" >&2
  exit 1
fi
mkdir -p weights
"$py" convert/faceapi.py "$cache/model" --net recognition -o weights/faceapi_recognition.bin
"$py" convert/faceapi.py "$cache/model" --net agegender -o weights/faceapi_agegender.bin
