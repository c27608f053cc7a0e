"""Start → `initialize` result of what editors launch, side by side with its floors.

    .venv/bin/python bench/lsp_startup_compare.py [--runs 15]

Each round starts, in shuffled order, every command below as a fresh process with a
scratch workspace as its cwd, sends `initialize` at once and times until the result
arrives (the import floor is timed until the process exits):

- `aurelis serve`            the console script (what the VS Code extension runs by default)
- `python -m aurelis serve`  (the extension with `aurelis.pythonPath` set)
- `python -m aurelis.lsp`    (the server module itself)
- bare pygls                 a hello-world pygls server (`bench/_pygls_hello.py`)
- import lsprotocol.types    `python -c "import lsprotocol.types"`: pygls needs it, so no
                             pygls server can start faster

The target (issue 9 §6): `aurelis serve` within 1.2× of the bare pygls server in the same
run. Interleaving makes drift on a shared machine hit every command alike. Each process's
CPU time (user + system, from `wait4`) is reported too: on a loaded machine wall time
mostly measures the neighbours, CPU time mostly the program.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CONSOLE_SCRIPT = Path(sys.executable).parent / "aurelis"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"processId": None, "rootUri": None, "capabilities": {}},
}
COMMANDS: dict[str, list[str]] = {
    "aurelis serve": [str(CONSOLE_SCRIPT), "serve"],
    "python -m aurelis serve": [sys.executable, "-m", "aurelis", "serve"],
    "python -m aurelis.lsp": [sys.executable, "-m", "aurelis.lsp"],
    "bare pygls": [sys.executable, str(BENCH / "_pygls_hello.py")],
}
IMPORT_FLOOR = "import lsprotocol.types"
TARGET_RATIO = 1.2


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


Sample = tuple[float, float]  # (wall seconds, CPU seconds)


def time_to_initialize(command: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    """Wall seconds from spawning `command` to reading its initialize result, and the CPU
    seconds the process had used by then (it idles after answering; it is killed at once)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(frame(INITIALIZE))
        process.stdin.flush()
        length = _read_headers(process.stdout)
        reply = json.loads(process.stdout.read(length))
        elapsed = time.perf_counter() - started
        if reply.get("id") != 1 or "result" not in reply:
            raise RuntimeError(f"{command}: unexpected first message {reply}")
    finally:
        process.kill()
    return elapsed, cpu_seconds(process)


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """Reap `process` and return the CPU time it used (user + system)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def _read_headers(stdout: object) -> int:
    length = None
    while True:
        line = stdout.readline()  # type: ignore[attr-defined]
        if not line:
            raise RuntimeError("server closed stdout before answering initialize")
        if line in (b"\r\n", b"\n"):
            if length is None:
                raise RuntimeError("a message without Content-Length")
            return length
        name, _, value = line.decode().partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)


def time_import_floor(cwd: Path, env: dict[str, str]) -> Sample:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", "import lsprotocol.types"], cwd=cwd, env=env)
    cpu = cpu_seconds(process)
    if process.returncode != 0:
        raise RuntimeError("importing lsprotocol.types failed")
    return time.perf_counter() - started, cpu


def environment(home: Path) -> dict[str, str]:
    """No user or project config, no AURELIS_* from the caller, nothing on PYTHONPATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AURELIS_") and key not in ("PYTHONPATH", "GITHUB_TOKEN")
    }
    env.update(
        AURELIS_CONFIG_FILE=str(home / "config.toml"),
        AURELIS_CACHE_DIR=str(home / "cache"),
        AURELIS_LOCAL_FALLBACK="false",
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not CONSOLE_SCRIPT.exists():
        raise SystemExit(f"no console script at {CONSOLE_SCRIPT}: pip install -e . first")
    samples: dict[str, list[Sample]] = {name: [] for name in [*COMMANDS, IMPORT_FLOOR]}
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        workspace = home / "workspace"
        workspace.mkdir()
        env = environment(home)
        for command in COMMANDS.values():  # warm the OS file cache and .pyc files
            time_to_initialize(command, workspace, env)
        for _ in range(args.runs):
            order = [*COMMANDS, IMPORT_FLOOR]
            random.shuffle(order)
            for name in order:
                if name == IMPORT_FLOOR:
                    samples[name].append(time_import_floor(workspace, env))
                else:
                    samples[name].append(time_to_initialize(COMMANDS[name], workspace, env))
    report(samples, args.runs)


def report(samples: dict[str, list[Sample]], runs: int) -> None:
    print(f"start -> initialize result, medians of {runs} interleaved runs")
    print(f"  {'':<26} {'wall':>7} {'ratio':>6} {'CPU':>7} {'ratio':>6}  (wall min-max)")
    wall = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in samples.items()}
    for name, values in samples.items():
        low, high = min(w for w, _ in values), max(w for w, _ in values)
        print(
            f"  {name:<26} {wall[name] * 1000:5.0f} ms {wall[name] / wall['bare pygls']:5.2f}x"
            f" {cpu[name] * 1000:5.0f} ms {cpu[name] / cpu['bare pygls']:5.2f}x"
            f"  ({low * 1000:.0f}-{high * 1000:.0f} ms)"
        )
    for name, medians in (("wall", wall), ("CPU", cpu)):
        ratio = medians["aurelis serve"] / medians["bare pygls"]
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(
            f"target `aurelis serve` <= {TARGET_RATIO}x bare pygls ({name}): "
            f"{ratio:.2f}x, {verdict}"
        )
    print(f"(machine load average: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
