"""Redaction: no user content, personal data or credential survives an export."""

from __future__ import annotations

import json

import pytest

from test_export_data import CONTENT, EMAIL, END, PHONE, TOKEN, frame, source_info, turns_with_traces
from voicetop.config import Config, Connection, Context
from voicetop.export import load_snapshot, write_snapshot
from voicetop.export.redact import (
    REDACTED,
    is_content_key,
    is_credential_key,
    redact_attributes,
    redact_document,
    redact_svg,
    scrub_text,
)
from voicetop.export.sources_info import describe_sources

#: DESIGN.md §3: attributes that carry user content.
DESIGN_CONTENT_KEYS = [
    "lk.pii.user_phone", "lk.pii.transcript", "transcript", "text", "input", "output",
    "gen_ai.input.messages",
]


@pytest.mark.parametrize("key", DESIGN_CONTENT_KEYS + ["gen_ai.output.messages", "lk.user_transcript", "input.value"])
def test_every_design_content_attribute_is_replaced(key):
    safe = redact_attributes({key: "I live at 12 Elm St", "agent.id": "billing"})
    assert safe == {key: REDACTED, "agent.id": "billing"}


@pytest.mark.parametrize(
    "key", ["gen_ai.usage.input_tokens", "llm.prompt_tokens", "lk.transcription_delay", "session.id", "tool.name"]
)
def test_metric_like_attributes_are_not_content(key):
    assert not is_content_key(key)
    assert not is_credential_key(key)
    assert redact_attributes({key: 42}) == {key: 42}


@pytest.mark.parametrize(
    "text",
    [
        "mail jane.doe@example.com now",
        "call +1 415 555 0123",
        "call (415) 555-0123",
        "call 415-555-0123",
        "call +442079460958",
        "+44 20 7946 0958",
    ],
)
def test_emails_and_phone_numbers_are_replaced(text):
    cleaned = scrub_text(text)
    assert REDACTED in cleaned
    assert "@" not in cleaned and "555" not in cleaned and "7946" not in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-01T03:12:00Z", "127.0.0.1:9090", "4bf92f3577b34da6a3ce929d0e0e4736",
        "1735700000.5", "e2e 5234 ms", "v1.2.3", "check 1. LLM provider status; 2. token rate limits",
        "12345678-1234-1234-1234-123456789012", "Basic auth needs a user",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert scrub_text(text) == text


@pytest.mark.parametrize(
    "text, secret",
    [
        (f"Authorization: Bearer {TOKEN}", TOKEN),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("fetch http://admin:hunter2@prom.example:9090/api failed", "hunter2"),
        ("GET https://api.example.com/v1?api_key=abc123&x=1", "abc123"),
    ],
)
def test_credentials_are_removed_even_without_redaction(text, secret):
    assert secret not in scrub_text(text, redact=False)
    assert secret not in scrub_text(text, redact=True)


def test_credential_attributes_are_dropped_even_with_no_redact():
    safe = redact_attributes(
        {"http.request.header.authorization": "Bearer x", "api_key": "k", "x-api-key": "k2", "transcript": "hi"},
        redact=False,
    )
    assert safe == {
        "http.request.header.authorization": REDACTED, "api_key": REDACTED, "x-api-key": REDACTED, "transcript": "hi",
    }


def test_label_maps_and_nested_strings_are_scrubbed():
    doc = {
        "alerts": [{"labels": {"authorization": "secret-value", "team": "voice"},
                    "annotations": {"summary": f"page {EMAIL}"}}],
        "health": [{"message": "GET http://bob:pw@prom/api: 401"}],
        "series": {"timestamps": [1.0], "values": [2.0]},
    }
    clean = redact_document(doc)
    assert clean["alerts"][0]["labels"] == {"authorization": REDACTED, "team": "voice"}
    assert EMAIL not in json.dumps(clean) and "bob:pw" not in json.dumps(clean)
    assert clean["series"] == doc["series"]


def _exported_text(tmp_path, redact: bool, svg: str | None = None) -> tuple[str, str, str]:
    result = write_snapshot(
        frame(), turns_with_traces(), tmp_path, source_info=source_info(), redact=redact,
        svg=svg, created_at=END,
    )
    svg_text = result.svg_path.read_text() if result.svg_path else ""
    return result.json_path.read_text(), result.markdown_path.read_text(), svg_text


def test_default_export_holds_no_content_personal_data_or_credentials(tmp_path):
    svg = f'<svg><text x="1">caller&#160;{EMAIL}</text><text>Bearer {TOKEN}</text></svg>'
    json_text, md_text, svg_text = _exported_text(tmp_path, redact=True, svg=svg)
    for text in (json_text, md_text, svg_text):
        for leaked in (CONTENT, EMAIL, PHONE, TOKEN, "admin:", "Sure, refunding now", "4242"):
            assert leaked not in text
    doc = json.loads(json_text)
    assert doc["redacted"] is True
    for turn in doc["turns"]:
        for span in turn["spans"]:
            for key, value in span["attributes"].items():
                if is_content_key(key) or is_credential_key(key):
                    assert value == REDACTED, key
            for event in span["events"]:
                assert event["attributes"].get("transcript") == REDACTED
    assert load_snapshot(tmp_path / "voicetop-prod-20250101T030000Z.json").redacted is True


def test_no_redact_keeps_content_but_never_credentials(tmp_path):
    json_text, md_text, _ = _exported_text(tmp_path, redact=False)
    assert CONTENT in json_text and EMAIL in json_text and PHONE in json_text
    assert TOKEN not in json_text and TOKEN not in md_text and "admin:" not in json_text
    assert json.loads(json_text)["redacted"] is False
    assert "content kept" in md_text


def test_source_urls_are_written_without_credentials():
    context = Context(
        "prod",
        prometheus=Connection("https://ops:s3cret@prom.example:9090/?token=abc", bearer_token_env="PROM_TOKEN"),
        traces=Connection("http://jaeger:16686"),
    )
    info = describe_sources(Config(context=context))
    assert info["metrics"] == {"kind": "prometheus", "url": "https://prom.example:9090/?token=***"}
    assert "s3cret" not in json.dumps(info) and "PROM_TOKEN" not in json.dumps(info)
    assert info["traces"]["kind"] == "jaeger" and info["profile"] == "seed"


def test_svg_text_nodes_are_scrubbed_but_markup_kept():
    svg = f'<svg viewBox="0 0 1234 567"><text class="r1" x="12.2">mail&#160;{EMAIL}</text></svg>'
    cleaned = redact_svg(svg)
    assert EMAIL not in cleaned and "[redacted]" in cleaned
    assert cleaned.startswith('<svg viewBox="0 0 1234 567"><text class="r1" x="12.2">')
