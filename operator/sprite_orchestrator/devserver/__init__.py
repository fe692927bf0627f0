"""An embedded Kubernetes-compatible API server for `orchestrator dev` and the operator's tests.

It serves our custom resources with the fidelity clients rely on (resource versions, conflicts,
the status subresource, schema validation, watches, tables, OpenAPI for kubectl) from memory,
with per-request cost independent of how many requests came before.
"""
