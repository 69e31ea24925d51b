"""Default telephony thresholds: LiveKit server media quality, joins and SIP (issue #10).

They are fleet-wide rules (``ThresholdSet.telephony``), configured like every
threshold (``[thresholds] packet_loss = [1, 3]``, ratios in percent there) and
evaluated like the others (DESIGN.md §4).  Values are in native units: ratios
0–1, milliseconds.
"""

from __future__ import annotations

from voicetop.domain.thresholds import Hint, ThresholdRule

MEDIA_QUALITY = Hint(
    "poor media quality", ("network path between callers and the LiveKit node", "node CPU and bandwidth", "TURN/UDP reachability")
)
FAILED_JOINS = Hint("failed joins", ("ICE/TURN connectivity", "access tokens and permissions", "node load"))
SIP_FAILURES = Hint("SIP call failures", ("trunk credentials and dispatch rules", "carrier status", "SIP node health"))


def _rule(key: str, warning: float, critical: float, unit: str, hint: Hint, label: str, direction: str = "above") -> ThresholdRule:
    return ThresholdRule(key=key, warning=warning, critical=critical, direction=direction, unit=unit, label=label, hint=hint)


TELEPHONY_RULES: tuple[ThresholdRule, ...] = (
    _rule("packet_loss", 0.01, 0.03, "ratio", MEDIA_QUALITY, "Packet loss"),
    _rule("jitter_p95", 30, 50, "ms", MEDIA_QUALITY, "Jitter p95"),
    _rule("rtt_p95", 250, 500, "ms", MEDIA_QUALITY, "RTT p95"),
    _rule("poor_quality_share", 0.05, 0.15, "ratio", MEDIA_QUALITY, "Poor/lost quality"),
    _rule("join_success_rate", 0.99, 0.95, "ratio", FAILED_JOINS, "Join success", direction="below"),
    _rule("sip_invite_error_rate", 0.02, 0.05, "ratio", SIP_FAILURES, "SIP invite errors"),
)

TELEPHONY_KEYS: tuple[str, ...] = tuple(r.key for r in TELEPHONY_RULES)
