"""Gates and alerting: deploy-gate evaluation, Prometheus rule generation,
alert merging and silences.  Pure backend code: no Textual, no I/O here
except what callers pass in.
"""
