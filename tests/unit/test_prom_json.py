"""Prometheus answers decode with orjson, and read exactly as requests' own JSON path would read them."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from voicetop.sources.prometheus import http as prom_http
from voicetop.sources.prometheus.http import FastJSONResponse, check_response


def answer(body: bytes) -> requests.Response:
    """A 200 JSON response as requests builds it, before the hooks run."""
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.headers["Content-Type"] = "application/json"
    response.encoding = "utf-8"  # what requests picks for application/json
    return response


def plain_json(body: bytes):
    """requests' own path: the same body through an unhooked Response."""
    return answer(body).json()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4), st.booleans())
def test_any_json_object_reads_the_same_as_through_requests(payload, ascii_only):
    body = json.dumps(payload, ensure_ascii=ascii_only).encode()
    checked = check_response(answer(body))
    assert type(checked) is FastJSONResponse
    assert checked.json() == plain_json(body)


def test_a_prometheus_answer_is_decoded_by_orjson(monkeypatch):
    calls = []
    real = prom_http.orjson.loads
    monkeypatch.setattr(prom_http.orjson, "loads", lambda body: calls.append(body) or real(body))
    body = b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"agent_id":"b\\u00e9"},' \
           b'"values":[[1760000000.123,"NaN"],[1760000015,"+Inf"],[1760000030,"0.25"]]}]}}'
    rows = check_response(answer(body)).json()["data"]["result"]
    assert calls == [body]
    assert rows == plain_json(body)["data"]["result"]
    assert rows[0]["metric"]["agent_id"] == "bé" and rows[0]["values"][0] == [1760000000.123, "NaN"]


@pytest.mark.parametrize("body", [
    b'{"value": NaN, "other": -Infinity}',  # literals the standard library accepts and orjson refuses
    b'{"label": "caf\xe9"}',  # not UTF-8: requests replaces the byte
])
def test_bodies_orjson_refuses_read_as_before(body):
    assert check_response(answer(body)).json() == plain_json(body)


def test_an_integer_beyond_64_bits_reads_as_the_nearest_float():
    """orjson's one difference that is not a refusal; a Prometheus answer's numbers are timestamps (floats)."""
    body = b'{"big": 123456789012345678901234567890}'
    assert check_response(answer(body)).json() == {"big": float(plain_json(body)["big"])}


def test_broken_bodies_fail_as_before():
    """Too deep or cut short: the same exception type requests raises, which the source reports."""
    for body in (b"{" + b"[" * 50_000, b'{"status":"success","data":{"result":['):
        with pytest.raises(Exception) as ours:
            check_response(answer(body)).json()
        with pytest.raises(Exception) as theirs:
            plain_json(body)
        assert type(ours.value) is type(theirs.value)
