"""Thin kopf handlers: observe, ask the pure core what should be, make it so.

Every reconciliation re-reads the objects and the machines (level-based): it can be
re-run after a crash at any line and converges to the same result.
"""
