"""The operator's and the CLI's one door to the Kubernetes API.

The official client is blocking, so every call runs in a thread. Status is written only
through `/status`, with the object's resourceVersion as a precondition where a decision
depends on what was read (compare-and-swap: the API answers 409 if someone wrote first).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import kubernetes.client
import kubernetes.config
import urllib3
from kubernetes.client.exceptions import ApiException

from sprite_orchestrator import GROUP, VERSION

Body = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"


class NotFound(Exception):
    """The object (or its namespace, or its kind) does not exist."""


class Conflict(Exception):
    """Someone else wrote first: re-read and decide again."""


def passing(exc: BaseException) -> bool:
    """The API server's passing trouble (busy, unavailable, a dropped connection, a write
    that lost a race): the next request usually works, so a reconciler retries soon."""
    if isinstance(exc, ApiException):
        return exc.status == 429 or (exc.status or 0) >= 500
    return isinstance(exc, (Conflict, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError))


def _translate(exc: ApiException) -> Exception:
    if exc.status == 404:
        return NotFound(str(exc.reason))
    if exc.status == 409:
        return Conflict(str(exc.reason))
    return exc


def configuration(
    *, server: str | None = None, kubeconfig: str | None = None, context: str | None = None
) -> kubernetes.client.Configuration:
    """A client configuration: an explicit server, a kubeconfig, or the pod's service account."""
    config = kubernetes.client.Configuration()
    if server is not None:
        config.host = server
        return config
    try:
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, client_configuration=config
        )
    except (kubernetes.config.ConfigException, FileNotFoundError, TypeError):
        if kubeconfig is not None:
            raise
        kubernetes.config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=config
        )
    return config


@dataclasses.dataclass
class Kube:
    """Async access to our kinds, Secrets, ConfigMaps."""

    config: kubernetes.client.Configuration
    _client: kubernetes.client.ApiClient | None = None
    # Told (verb, resource) of every request: the operator counts them in its metrics.
    observe: Callable[[str, str], None] | None = None

    @property
    def client(self) -> kubernetes.client.ApiClient:
        if self._client is None:
            self._client = kubernetes.client.ApiClient(self.config)
        return self._client

    @property
    def server(self) -> str:
        return str(self.config.host)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
            self._client = None

    async def _call(
        self, verb: str, resource: str, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        if self.observe is not None:
            self.observe(verb, resource)
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except ApiException as exc:
            raise _translate(exc) from None

    @property
    def _custom(self) -> kubernetes.client.CustomObjectsApi:
        return kubernetes.client.CustomObjectsApi(self.client)

    @property
    def _core(self) -> kubernetes.client.CoreV1Api:
        return kubernetes.client.CoreV1Api(self.client)

    async def get(self, plural: str, namespace: str, name: str) -> Body:
        body: Body = await self._call(
            "get",
            plural,
            self._custom.get_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
        )
        return body

    async def list(
        self, plural: str, namespace: str | None, *, labels: Mapping[str, str] | None = None
    ) -> list[Body]:
        selector = ",".join(f"{k}={v}" for k, v in (labels or {}).items())
        if namespace is None:
            result = await self._call(
                "list",
                plural,
                self._custom.list_cluster_custom_object,
                GROUP,
                VERSION,
                plural,
                label_selector=selector,
            )
        else:
            result = await self._call(
                "list",
                plural,
                self._custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                plural,
                label_selector=selector,
            )
        items: list[Body] = result.get("items", [])
        return items

    async def create(self, plural: str, namespace: str, body: Body) -> Body:
        created: Body = await self._call(
            "create",
            plural,
            self._custom.create_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            plural,
            body,
        )
        return created

    async def create_other(
        self, group_version: str, plural: str, namespace: str | None, body: Body
    ) -> None:
        """Create an object of another API group (kopf's peering), namespaced or not."""
        group, version = group_version.split("/")
        if namespace is None:
            await self._call(
                "create",
                plural,
                self._custom.create_cluster_custom_object,
                group,
                version,
                plural,
                body,
            )
        else:
            await self._call(
                "create",
                plural,
                self._custom.create_namespaced_custom_object,
                group,
                version,
                namespace,
                plural,
                body,
            )

    async def patch(self, plural: str, namespace: str, name: str, patch: Body) -> Body:
        """A merge patch of the main resource (metadata, never spec of a user's object)."""
        patched: Body = await self._call(
            "patch",
            plural,
            self._custom.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            patch,
            _content_type=MERGE_PATCH,
        )
        return patched

    async def patch_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: Body,
        *,
        resource_version: str | None = None,
    ) -> Body:
        """A merge patch of `/status`; with a resourceVersion it is a compare-and-swap."""
        body: Body = {"status": status}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        patched: Body = await self._call(
            "patch",
            f"{plural}/status",
            self._custom.patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            body,
            _content_type=MERGE_PATCH,
        )
        return patched

    async def delete(self, plural: str, namespace: str, name: str) -> None:
        with contextlib.suppress(NotFound):
            await self._call(
                "delete",
                plural,
                self._custom.delete_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                plural,
                name,
            )

    async def secret(self, namespace: str, name: str) -> dict[str, bytes]:
        """A Secret's data, decoded. Never logged."""
        secret = await self._call(
            "get", "secrets", self._core.read_namespaced_secret, name, namespace
        )
        data: Mapping[str, Any] = secret.data or {}
        return {key: base64.b64decode(value) for key, value in data.items()}

    async def create_secret(self, namespace: str, name: str, data: Mapping[str, bytes]) -> None:
        """Create a Secret; one that already exists is left as it is."""
        body = kubernetes.client.V1Secret(
            metadata=kubernetes.client.V1ObjectMeta(name=name, namespace=namespace),
            data={k: base64.b64encode(v).decode("ascii") for k, v in data.items()},
        )
        with contextlib.suppress(Conflict):
            await self._call(
                "create", "secrets", self._core.create_namespaced_secret, namespace, body
            )

    async def events(self, namespace: str) -> Any:
        """The namespace's core/v1 Events (what kopf posts), as plain JSON: `{"items": [...]}`."""
        found = await self._call("list", "events", self._core.list_namespaced_event, namespace)
        return self.client.sanitize_for_serialization(found)  # type: ignore[no-untyped-call]

    async def config_map(self, namespace: str, name: str) -> dict[str, str]:
        cm = await self._call(
            "get", "configmaps", self._core.read_namespaced_config_map, name, namespace
        )
        return dict(cm.data or {})
