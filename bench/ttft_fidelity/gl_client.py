"""guidellm as the reference client: its concurrent profile (N streams) against the same
simulated server, then its per-request timings read back from its JSON report.

guidellm's OpenAI backend stamps request_start at httpcore's send_request_headers.started
and first_token_iteration when a decoded SSE line carrying a token is read; both are
time.time() values, so only their differences are used.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.ttft_fidelity.tokenizer import build_tokenizer

TAG = re.compile(r"fwreq-[0-9a-z]+-[0-9]+")
PER_STREAM_RATE = 4  # requests a second one stream can at most make (TTFT >= 0.25 s)


def write_data(path: Path, level: int, rows: int, tokens: int) -> None:
    with path.open("w") as f:
        for i in range(rows):
            prompt = f"fwreq-g{level}-{i} say something short"
            f.write(json.dumps({"prompt": prompt, "output_tokens_count": tokens}) + "\n")


def guidellm_command(origin: str, model: str, streams: int, seconds: float, data: Path,
                     tokenizer: Path, out: Path) -> list[str]:
    exe = Path(sys.executable).with_name("guidellm")
    return [str(exe), "run",
            # no /health on the simulator; HTTP/1.1 as factorwatch speaks it
            "--backend", f"kind=openai_http,target={origin},model={model},"
                         "validate_backend=false,http2=false,timeout=30",
            "--tokenizer", f"kind=hf_auto,model={tokenizer}",
            "--data", f"kind=json_file,path={data}",
            "--profile", f"kind=concurrent,streams={streams}",
            "--constraint", f"kind=max_duration,seconds={seconds:g}",
            "--output", f"kind=json,path={out}",
            "--disable-console"]


def run(origin: str, streams: int, seconds: float, workdir: Path, tokens: int = 16,
        model: str = "sim") -> list[dict[str, Any]]:
    data, out = workdir / f"gl-data-{streams}.jsonl", workdir / f"gl-out-{streams}.json"
    write_data(data, streams, int(streams * seconds * PER_STREAM_RATE) + 100, tokens)
    tokenizer = build_tokenizer(workdir / "tokenizer")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "GUIDELLM__LOGGING__CONSOLE_LOG_LEVEL": "WARNING",
           "GUIDELLM__LOGGING__LOG_FILE": str(workdir / "guidellm.log")}
    cmd = guidellm_command(origin, model, streams, seconds, data, tokenizer, out)
    done = subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True,
                          timeout=seconds + 600)
    if done.returncode != 0:
        raise RuntimeError(f"guidellm failed ({done.returncode}): {done.stderr[-2000:]}")
    return rows(json.loads(out.read_text()))


def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for benchmark in report["benchmarks"]:
        requests = benchmark["requests"]
        for req in requests.get("successful", []):
            t = req["info"]["timings"]
            match = TAG.search(req.get("request_args") or "")
            first, last, start = (t.get("first_token_iteration"), t.get("last_token_iteration"),
                                  t.get("request_start"))
            tokens = req["output_metrics"].get("total_tokens") or t.get("token_iterations")
            out.append({
                "tag": match.group() if match else "", "ok": True, "started": start,
                "ttft": first - start if first is not None and start is not None else None,
                "itl_mean": ((last - first) / (tokens - 1)
                             if first is not None and last is not None and tokens and tokens > 1
                             else None)})
        for req in requests.get("errored", []):
            out.append({"tag": "", "ok": False, "started": req["info"]["timings"].get(
                "request_start"), "error": str(req["info"].get("error"))[:200]})
    return out
