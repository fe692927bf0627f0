"""Reading the text exposition back the way Prometheus would, for one-line assertions."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from sprite_orchestrator.metrics import Metrics

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a text exposition, keyed by name and label set."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(metrics: Metrics) -> Samples:
    body, _ = metrics.exposition()
    return parse(body.decode())


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample with exactly these labels, or None when the series is absent."""
    return samples.get((name, frozenset(labels.items())))


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}
