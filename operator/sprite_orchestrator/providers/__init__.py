"""Providers of worker machines behind one small async Protocol.

Each provider lives in its own module (`local`, `ssh`, `sprites`) and is loaded lazily,
so a missing optional dependency only matters to the pools that use it.
"""
