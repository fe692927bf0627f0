"""sprite-orchestrator: run coding agents on pools of worker machines, and tell the truth."""

GROUP = "orchestrator.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
__version__ = "0.1.0"
