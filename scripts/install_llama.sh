#!/usr/bin/env bash
# Install llama-cpp-python built for this machine without CPU features the OS may not enable.
#
# pip's default build compiles llama.cpp with -march=native, and on some CPUs (Xeons with
# AMX in a VM, say) that library crashes in decode: the OS or hypervisor advertises a
# feature it does not let a process use. So on x86-64 we turn native detection off and
# switch on only the instruction sets the kernel lists in /proc/cpuinfo (which it clears
# when it does not enable their register state), never AMX (Linux also requires each process
# to ask for AMX state, which llama.cpp's CPU backend does not do reliably in VMs).
# Other architectures (ARM Linux, macOS) keep llama.cpp's defaults.
#
# pip's wheel cache ignores CMAKE_ARGS and would hand back an earlier native build, so we
# build with --no-cache-dir into a cache of our own keyed by version, flags and Python, and
# install from there.
# Usage: scripts/install_llama.sh PYTHON
set -euo pipefail
cd "$(dirname "$0")/.."
python="$1"
version="$(sed -n 's/^LLAMA_CPP_PYTHON_VERSION = "\(.*\)"$/\1/p' server/aurelis/models/providers/local_build.py)"
[ -n "$version" ] || { echo "install_llama.sh: cannot read the pinned llama-cpp-python version" >&2; exit 2; }

cmake_args() {
    local os arch flags cpu
    os="$(uname -s)"; arch="$(uname -m)"
    if [ "$os" != "Linux" ] || { [ "$arch" != "x86_64" ] && [ "$arch" != "amd64" ]; }; then
        return 0  # llama.cpp's own defaults (Metal on macOS, -mcpu=native on ARM)
    fi
    cpu=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
    has() { local f; for f in "$@"; do [[ "$cpu" == *" $f "* ]] || return 1; done; }
    on() { if has "${@:2}"; then echo "-D$1=ON"; else echo "-D$1=OFF"; fi; }
    flags="-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF"
    flags+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    flags+=" $(on GGML_SSE42 sse4_2) $(on GGML_AVX avx) $(on GGML_AVX2 avx2)"
    flags+=" $(on GGML_FMA fma) $(on GGML_F16C f16c) $(on GGML_BMI2 bmi2)"
    flags+=" $(on GGML_AVX_VNNI avx_vnni)"
    flags+=" $(on GGML_AVX512 avx512f avx512cd avx512vl avx512dq avx512bw)"
    flags+=" $(on GGML_AVX512_VBMI avx512f avx512vbmi) $(on GGML_AVX512_VNNI avx512f avx512_vnni)"
    flags+=" $(on GGML_AVX512_BF16 avx512f avx512_bf16)"
    echo "$flags"
}

args="$(cmake_args)"
tag="$("$python" -c 'import sys, sysconfig; print(sys.implementation.cache_tag, sysconfig.get_platform())')"
key="$(printf '%s|%s|%s' "$version" "$args" "$tag" | sha256sum | cut -c1-16)"
marker="$("$python" -c 'import sys; print(sys.prefix)')/aurelis-llama-build"
if [ "$(cat "$marker" 2>/dev/null)" = "$key" ] && "$python" -c "import importlib.metadata as m, sys; sys.exit(m.version('llama-cpp-python') != '$version')" 2>/dev/null; then
    exit 0  # this venv already has this build
fi
cache="${AURELIS_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aurelis/llama-wheels}/$version-$key"
if ! ls "$cache"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "Building llama-cpp-python $version for this CPU (several minutes on 2 cores)…" >&2
    echo "  CMAKE_ARGS=${args:-<llama.cpp defaults>}" >&2
    rm -rf "$cache.partial"
    CMAKE_ARGS="$args" FORCE_CMAKE=1 "$python" -m pip wheel --quiet --no-cache-dir --no-deps \
        --no-binary llama-cpp-python -w "$cache.partial" "llama-cpp-python==$version"
    rm -rf "$cache"; mv "$cache.partial" "$cache"
fi
"$python" -m pip install --quiet --force-reinstall --no-deps "$cache"/llama_cpp_python-*.whl
echo "$key" > "$marker"
