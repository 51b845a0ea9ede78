#!/usr/bin/env bash
# Install tryon on a fresh Debian/Ubuntu machine, then run the main job.
#
#   ./setup.sh            install everything, then dress a demo photo with `tryon render`
#   ./setup.sh --no-run   install only (CI uses this)
#
# System packages: libegl1 libgl1 libegl-mesa0 (headless rendering through EGL), chromium (browser
# tests), postgresql (database tests), redis-server (store scale-out tests), xvfb and xauth (the mirror window test), nodejs and npm (the
# browser-side packages under web/, pinned by web/package-lock.json). They are installed with apt-get
# when this runs as root or with sudo; otherwise the script stops and names them.
#
# Each step prints one line; the installers' own output goes to .setup.log (shown when a step fails).
set -euo pipefail
cd "$(dirname "$0")"

RUN_DEMO=1
[[ "${1:-}" == "--no-run" ]] && RUN_DEMO=0

PACKAGES=(libegl1 libgl1 libegl-mesa0 chromium postgresql redis-server xvfb xauth)
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
PYTHON="${PYTHON:-python3}"
LOG=.setup.log
: >"$LOG"

# step "what" command...: run quietly into the log; on failure show the log's tail and stop.
step() {
    local what=$1
    shift
    echo "setup.sh: $what"
    if ! "$@" >>"$LOG" 2>&1; then
        echo "setup.sh: failed: $what (last lines of $LOG below)" >&2
        tail -n 30 "$LOG" >&2
        exit 1
    fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo)
    else
        echo "setup.sh: please install these system packages first, then run ./setup.sh again:" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    step "apt-get update" "${SUDO[@]}" apt-get update -qq
    step "installing system packages: ${missing[*]}" \
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
    step "creating .venv" "$PYTHON" -m venv .venv
fi
step "upgrading pip" .venv/bin/python -m pip install --quiet --upgrade pip
step "installing tryon and its Python dependencies into .venv" \
    .venv/bin/python -m pip install --quiet -e '.[dev]'
if [[ -f web/package.json ]]; then
    step "installing the browser packages pinned by web/package-lock.json" \
        npm ci --prefix web --no-audit --no-fund --loglevel=error
fi
echo "setup.sh: installed. The face model is found via \$TRYON_FACE_MODEL, else downloaded on first use."

if ((RUN_DEMO)); then
    photo="${TRYON_DEMO_PHOTO:-../shared/faces/astronaut.png}"
    if [[ -f ../shared/models/face_landmarker.task && -z "${TRYON_FACE_MODEL:-}" ]]; then
        TRYON_FACE_MODEL="$(cd ../shared/models && pwd)/face_landmarker.task"
        export TRYON_FACE_MODEL
    fi
    if [[ -f "$photo" ]]; then
        .venv/bin/tryon render "$photo" -o tryon-demo.png
        echo "setup.sh: wrote tryon-demo.png. Next: .venv/bin/tryon serve   (web app)  |  .venv/bin/tryon mirror"
    else
        .venv/bin/tryon frames list
        echo "setup.sh: try a photo: .venv/bin/tryon render PHOTO.jpg -o out.png; web app: .venv/bin/tryon serve"
    fi
fi
