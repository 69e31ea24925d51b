"""``voicetop demo serve`` as a real process: /metrics carries the metric contract (DESIGN.md §2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import free_port
from voicetop.sources.demo.catalog import AGENTS
from voicetop.sources.demo.instruments import E2E_BUCKETS, EOU_BUCKETS, LLM_BUCKETS, SPEECH_BUCKETS

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = {
    # family name as parsed -> (type, label names); prompt_version: issue #9
    "livekit_llm_ttft_ms": ("histogram", {"agent_id", "model", "prompt_version"}),
    "livekit_llm_duration_ms": ("histogram", {"agent_id", "model", "prompt_version"}),
    "livekit_stt_duration_ms": ("histogram", {"agent_id", "provider"}),
    "livekit_tts_ttfb_ms": ("histogram", {"agent_id", "provider"}),
    "livekit_eou_delay_ms": ("histogram", {"agent_id"}),
    "livekit_e2e_latency_ms": ("histogram", {"agent_id"}),
    "livekit_session_turns": ("histogram", {"agent_id"}),
    "livekit_conversation_turns": ("counter", {"agent_id", "outcome", "prompt_version"}),
    "livekit_interruptions": ("counter", {"agent_id"}),
    "livekit_tool_calls": ("counter", {"agent_id", "tool", "outcome", "prompt_version"}),
    "livekit_requests": ("counter", {"agent_id", "component"}),
    "livekit_errors": ("counter", {"agent_id", "component"}),
    "livekit_sessions_completed": ("counter", {"agent_id", "outcome", "prompt_version"}),
    "livekit_tokens_consumed": ("counter", {"agent_id", "model", "kind", "prompt_version"}),
    "livekit_tts_characters": ("counter", {"agent_id", "provider", "prompt_version"}),
    "livekit_session_cost_usd": ("counter", {"agent_id", "component", "prompt_version"}),
    "livekit_asr_wer": ("gauge", {"agent_id"}),
    "livekit_tts_mos": ("gauge", {"agent_id"}),
    "livekit_stt_rtf": ("gauge", {"agent_id"}),
    "livekit_active_sessions": ("gauge", {"agent_id"}),
    "livekit_max_sessions": ("gauge", {"agent_id"}),
}
BUCKETS = {
    "livekit_llm_ttft_ms": LLM_BUCKETS, "livekit_llm_duration_ms": LLM_BUCKETS,
    "livekit_stt_duration_ms": SPEECH_BUCKETS, "livekit_tts_ttfb_ms": SPEECH_BUCKETS,
    "livekit_eou_delay_ms": EOU_BUCKETS, "livekit_e2e_latency_ms": E2E_BUCKETS,
}


def wait_for_metrics(url: str, process: subprocess.Popen, deadline: float = 30.0) -> str:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"demo serve exited early ({process.returncode}): {process.stderr.read()}")
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200 and "livekit_" in response.text:
                return response.text
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"demo serve did not answer on {url} within {deadline}s")


@pytest.fixture
def served():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "voicetop", "demo", "serve", "--port", str(port), "--demo-seed", "7"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        yield process, url, wait_for_metrics(url, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def parse(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_metrics_endpoint_carries_the_contract_then_stops_cleanly(served):
    process, url, text = served
    families = parse(text)
    agents = {spec.agent_id for spec in AGENTS}
    for name, (kind, labels) in FAMILIES.items():
        assert name in families, name
        family = families[name]
        assert family.type == kind, name
        samples = [s for s in family.samples if not s.name.endswith("_created")]
        assert {s.labels["agent_id"] for s in samples} == agents, name
        for sample in samples:
            extra = {"le"} if sample.name.endswith("_bucket") else set()
            assert set(sample.labels) == labels | extra, (sample.name, sample.labels)
        if kind == "counter":
            assert {s.name for s in samples} == {f"{name}_total"}
        if name in BUCKETS:
            les = {s.labels["le"] for s in samples if s.name.endswith("_bucket")}
            assert {float(le) for le in les} == {float(b) for b in BUCKETS[name]} | {float("inf")}
    maxima = {s.labels["agent_id"]: s.value for s in families["livekit_max_sessions"].samples}
    assert maxima == {spec.agent_id: spec.max_sessions for spec in AGENTS}
    turns_before = sum(s.value for s in families["livekit_conversation_turns"].samples if s.name.endswith("_total"))
    assert turns_before > 5000  # 30 minutes of history
    time.sleep(2.0)  # the simulation advances in the background at real time
    later = parse(httpx.get(url, timeout=2.0).text)
    turns_after = sum(s.value for s in later["livekit_conversation_turns"].samples if s.name.endswith("_total"))
    assert turns_after > turns_before
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert "/metrics" in process.stdout.read()


def test_prometheus_scrapes_the_demo(served, prometheus_server):
    _process, url, _text = served
    target = urllib.parse.urlsplit(url).netloc
    config = (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['{target}']\n"
    )
    prometheus = prometheus_server(config)
    query = prometheus.url + "/api/v1/query"
    deadline = time.monotonic() + 30
    names: set[str] = set()
    while time.monotonic() < deadline:
        answer = json.loads(httpx.get(query, params={"query": "count by (__name__) ({__name__=~\"livekit_.+\"})"}, timeout=5).text)
        names = {r["metric"]["__name__"] for r in answer["data"]["result"]}
        rate = json.loads(httpx.get(query, params={
            "query": "histogram_quantile(0.5, sum by (le, agent_id) (rate(livekit_e2e_latency_ms_bucket[1m])))"
        }, timeout=5).text)["data"]["result"]
        finite = [float(r["value"][1]) for r in rate if r["value"][1] not in ("NaN", "+Inf", "-Inf")]
        if len(names) >= 40 and len(finite) >= 3:
            break
        time.sleep(0.5)
    for name, (kind, _labels) in FAMILIES.items():
        expected = {"histogram": [f"{name}_bucket", f"{name}_sum", f"{name}_count"],
                    "counter": [f"{name}_total"], "gauge": [name]}[kind]
        assert set(expected) <= names, name
    total = json.loads(httpx.get(query, params={"query": "sum(livekit_max_sessions)"}, timeout=5).text)
    assert float(total["data"]["result"][0]["value"][1]) == sum(spec.max_sessions for spec in AGENTS)
    # Prometheus only has a few seconds of scrapes: agents without a new turn yet are NaN.
    assert len(rate) == len(AGENTS) and len(finite) >= 3
    assert all(100 < value < 10_000 for value in finite)


def test_prometheus_evaluates_voicetops_recording_rules_on_the_demo(served, prometheus_server, tmp_path):
    """The rules of ``voicetop rules --recording``, loaded into a live Prometheus, feed a recording profile."""
    from voicetop.config import Connection
    from voicetop.domain.model import Window
    from voicetop.profiles.metrics import load_profile
    from voicetop.sources.prometheus import PrometheusSource

    _process, url, _text = served
    profile_file = tmp_path / "recorded.toml"
    profile_file.write_text('[profile]\nrate_window = "1m"\nrecording_rules = true\n')
    rules = tmp_path / "recording.yml"
    made = subprocess.run(
        [sys.executable, "-m", "voicetop", "rules", "--recording", "--profile", str(profile_file),
         "--interval", "1s", "-o", str(rules)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
    )
    assert made.returncode == 0, made.stderr
    target = urllib.parse.urlsplit(url).netloc
    config = (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {rules}\n"
        f"scrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['{target}']\n"
    )
    prometheus = prometheus_server(config)
    source = PrometheusSource(Connection(url=prometheus.url), load_profile(str(profile_file)))
    try:
        deadline = time.monotonic() + 40
        while True:
            end = float(int(time.time()))
            result = source.fetch(Window(end - 20, end, 1.0))
            p50 = {agent: series.last() for agent, series in result.series.get("e2e_p50", {}).items()}
            finite = [v for v in p50.values() if v is not None and v == v]
            if (not result.errors and len(finite) >= 3 and "error_rate" in result.series) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
    finally:
        source.close()
    assert result.errors == {}
    assert set(p50) == {spec.agent_id for spec in AGENTS} | {None}
    assert len(finite) >= 3 and all(100 < value < 10_000 for value in finite)
    assert {"ttft_p99", "stt_p90", "capacity", "turns_per_session"} <= set(result.series)
