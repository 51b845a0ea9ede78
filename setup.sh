#!/usr/bin/env bash
# Install tryon on a fresh Debian/Ubuntu machine, then run the main job.
#
#   ./setup.sh            install everything, then dress a demo photo with `tryon render`
#   ./setup.sh --no-run   install only (CI uses this)
#
# System packages: libegl1 libgl1 libegl-mesa0 (headless rendering through EGL), chromium (browser
# tests), postgresql (database tests), xvfb and xauth (the mirror window test). They are installed
# with apt-get when this runs as root or with sudo; otherwise the script stops and names them.
set -euo pipefail
cd "$(dirname "$0")"

RUN_DEMO=1
[[ "${1:-}" == "--no-run" ]] && RUN_DEMO=0

PACKAGES=(libegl1 libgl1 libegl-mesa0 chromium postgresql xvfb xauth)
PYTHON="${PYTHON:-python3}"

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "setup.sh: please install these system packages first, then run ./setup.sh again:" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# Browser-side packages (axe-core for the accessibility tests), pinned by web/package-lock.json.
if command -v npm >/dev/null 2>&1; then
    (cd web && npm ci --no-audit --no-fund --silent)
fi
echo "setup.sh: installed. The face model is found via \$TRYON_FACE_MODEL, else downloaded on first use."

if ((RUN_DEMO)); then
    photo="${TRYON_DEMO_PHOTO:-../shared/faces/astronaut.png}"
    if [[ -f ../shared/models/face_landmarker.task && -z "${TRYON_FACE_MODEL:-}" ]]; then
        export TRYON_FACE_MODEL=../shared/models/face_landmarker.task
    fi
    if [[ -f "$photo" ]]; then
        .venv/bin/tryon render "$photo" -o tryon-demo.png --json
        echo "setup.sh: wrote tryon-demo.png. Next: .venv/bin/tryon serve   (web app)  |  .venv/bin/tryon mirror"
    else
        .venv/bin/tryon frames list
        echo "setup.sh: try a photo: .venv/bin/tryon render PHOTO.jpg -o out.png; web app: .venv/bin/tryon serve"
    fi
fi
