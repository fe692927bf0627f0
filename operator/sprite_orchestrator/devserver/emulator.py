"""The emulator: kmock's HTTP plumbing and discovery shape, our own store and API semantics.

kmock serves the HTTP, records requests for assertions and renders unexpected failures; we
parse paths, keep objects, and answer every API request ourselves, in time independent of the
number of requests served before (kmock's own routing re-scans its whole request log).
User-defined kmock reactions (`emulator['get /x'] << 500`) still take precedence, for tests
that inject faults; the fallback reactions kmock registers for itself are never consulted.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp.web
import attrs
import kmock
import yaml
from kmock._internal import rendering

from sprite_orchestrator.devserver import (
    discovery,
    errors,
    kinds,
    lifecycle,
    openapi,
    patching,
    protobuf,
    routes,
    scaling,
    selectors,
    views,
    watching,
)
from sprite_orchestrator.devserver.kinds import CRD_PLURAL, Kind
from sprite_orchestrator.devserver.objects import CRDS, Objects
from sprite_orchestrator.devserver.store import Obj, Store

logger = logging.getLogger(__name__)
_HEALTH_PATHS = ("/healthz", "/livez", "/readyz")


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _respond(doc: Any, *, status: int = 200, warnings: Iterable[str] = ()) -> aiohttp.web.Response:
    response = aiohttp.web.Response(body=_dump(doc), status=status, content_type="application/json")
    for warning in warnings:
        response.headers.add("Warning", f"299 - {json.dumps(warning)}")
    return response


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesEmulator):
    """A Kubernetes API in memory, for kubectl, kopf, and the official client.

    `request_log_limit` bounds kmock's request log (what `list(emulator)`, `emulator[...]` and
    `len(emulator)` see): only the latest requests are kept. `history_limit` bounds the watch
    history: resuming from an older resourceVersion ends in 410 Gone. Events (core and
    events.k8s.io) are capped at `event_limit` per resource, oldest out first, as the real
    server expires them. With `implicit_namespaces`, creating in a missing namespace creates
    it instead of answering 404. `bookmark_interval` paces BOOKMARK events on quiet watches
    that allow them.
    """

    request_log_limit: int = 1000
    history_limit: int = 10_000
    event_limit: int = 1000
    bookmark_interval: float = 60.0
    implicit_namespaces: bool = True

    _store: Store = attrs.field(init=False)
    _writes: Objects = attrs.field(init=False)
    _custom: dict[tuple[str, str, str], Kind] = attrs.field(init=False, factory=dict)
    _openapi: dict[str, bytes] = attrs.field(init=False, factory=dict)
    _own_payloads: set[int] = attrs.field(init=False, factory=set)
    _served: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._own_payloads = {id(payload) for payload in self._payloads}
        self._store = Store(history_limit=self.history_limit)
        self.resources.load_bundled()
        namespaces = self._kind("", "v1", "namespaces")
        assert namespaces is not None  # bundled with kmock
        self._writes = Objects(
            self._store,
            namespace_kind=namespaces,
            on_crd=self._crd_changed,
            event_limit=self.event_limit,
            implicit_namespaces=self.implicit_namespaces,
        )
        self._writes.ensure_namespace("default")

    # -- Public API --------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The objects themselves, for assertions: `store.get(("orchestrator.dev", plural), …)`."""
        return self._store

    @property
    def served(self) -> int:
        """How many requests were served in total (the request log keeps only the latest)."""
        return self._served

    def install_crd(self, crd: Mapping[str, Any]) -> Obj:
        """Register a CRD (an apiextensions.k8s.io/v1 dict) as if applied through the API."""
        kind = self._kind("apiextensions.k8s.io", "v1", CRD_PLURAL)
        assert kind is not None  # bundled with kmock
        name = str((crd.get("metadata") or {}).get("name", ""))
        old = self._store.get(CRDS, None, name)
        body = lifecycle.envelope(kind, copy.deepcopy(dict(crd)))
        if old is None:
            obj, _ = self._writes.create(kind, None, body, {})
        else:
            obj, _ = self._writes.update(kind, old, body, {}, subresource=None)
        return obj

    def kinds(self) -> list[Kind]:
        """Every served resource at every served version."""
        found: list[Kind] = []
        for resource in self.resources:
            group, version, plural = resource.group, resource.version, resource.plural
            if group is None or version is None or plural is None:
                continue
            kind = self._kind(group, version, plural)
            if kind is not None:
                found.append(kind)
        return found

    def close(self) -> None:
        """End all watch streams, so that the HTTP server can stop without waiting for them."""
        self._store.close()

    # -- HTTP plumbing -----------------------------------------------------------------------

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        body = await raw_request.read()
        route = routes.parse(raw_request.path)
        request = self._record(raw_request, route, body)
        try:
            return await self._handle(request)
        except Exception as exc:
            logger.exception("The emulator failed on %s %s", raw_request.method, raw_request.path)
            if self._errors:
                self._errors[-1].append(exc)
            return await self._render_error(exc)

    def _record(self, raw: aiohttp.web.BaseRequest, route: routes.Route, body: bytes) -> Any:
        """Log the request for kmock-style assertions, keeping only the latest ones."""
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        query = dict(raw.query)
        action = None
        if route.is_api and route.plural:
            watch = raw.method == "GET" and query.get("watch") in ("true", "1")
            action = (
                kmock.action.WATCH
                if watch
                else {
                    ("GET", False): kmock.action.LIST,
                    ("GET", True): kmock.action.FETCH,
                    ("POST", False): kmock.action.CREATE,
                    ("PATCH", True): kmock.action.UPDATE,
                    ("PUT", True): kmock.action.UPDATE,
                    ("DELETE", True): kmock.action.DELETE,
                }.get((raw.method, route.name is not None))
            )
        resource = None
        if route.is_api and route.version is not None:
            resource = kmock.resource(group=route.group, version=route.version, plural=route.plural)
        request = rendering.Request(
            id=self._served,
            raw_request=raw,
            url=raw.url,
            method=raw.method,
            params=query,
            headers=dict(raw.headers),
            body=body,
            text=body.decode("utf-8", "replace"),
            data=data,
            action=action,
            resource=resource,
            namespace=route.namespace,
            name=route.name,
            subresource=route.subresource,
        )
        self._served += 1
        self._requests.append(request)
        if len(self._requests) > self.request_log_limit:
            del self._requests[: len(self._requests) - self.request_log_limit]
        return request

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        reacted = await self._react(request)
        if reacted is not None:
            return reacted
        try:
            return await self._dispatch(request)
        except errors.ApiError as exc:
            return _respond(exc.status(), status=exc.code)

    async def _react(self, request: Any) -> aiohttp.web.StreamResponse | None:
        """Serve by user-defined kmock reactions, if any match: kmock's own matching rules."""
        payloads = [p for p in self._payloads if id(p) not in self._own_payloads]
        if not payloads:
            return None
        width = max(len(p.priorities) for p in payloads)
        payloads.sort(
            key=lambda p: tuple(-x for x in p.priorities) + (0,) * (width - len(p.priorities))
        )
        for payload in payloads:
            if request in payload._source and not payload._disabled.is_set():
                try:
                    response: aiohttp.web.StreamResponse = await payload(request)
                    return response
                except rendering.ReactionMismatchError:
                    payload._disabled.set()
                except NotImplementedError:
                    pass
        return None

    async def _dispatch(self, request: Any) -> aiohttp.web.StreamResponse:
        raw: aiohttp.web.BaseRequest = request._raw_request
        route = routes.parse(raw.path)
        if not route.is_api:
            return self._serve_other(raw)
        if raw.method != "GET" and route.plural is None:
            raise errors.method_not_allowed(raw.method)
        if route.version is None:
            group = discovery.api_group(self.kinds(), route.group or "")
            if group is None:
                raise errors.unknown_resource()
            return _respond(group)
        if route.plural is None:
            found = discovery.resource_list(self.kinds(), route.group or "", route.version)
            if found is None:
                raise errors.unknown_resource()
            return _respond(found)
        kind = self._kind(route.group or "", route.version, route.plural)
        if kind is None or (route.namespace is not None and not kind.namespaced):
            raise errors.unknown_resource()
        if kind.namespaced and route.name is not None and route.namespace is None:
            raise errors.unknown_resource()
        return await self._serve_resource(raw, route, kind, request.body)

    def _serve_other(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        path = raw.path.rstrip("/") or "/"
        if raw.method != "GET":
            raise errors.method_not_allowed(raw.method)
        if path == "/":
            return _respond(discovery.root_paths(self.kinds(), _HEALTH_PATHS))
        if path == "/api":
            return _respond(discovery.api_versions(raw.host))
        if path == "/apis":
            return _respond(discovery.api_group_list(self.kinds()))
        if path == "/version":
            return _respond(discovery.version_info())
        if path in _HEALTH_PATHS:
            return aiohttp.web.Response(text="ok")
        if path.startswith("/openapi/"):
            return self._serve_openapi(path.removeprefix("/openapi/"))
        raise errors.unknown_resource()

    def _serve_openapi(self, which: str) -> aiohttp.web.StreamResponse:
        if not self._openapi:
            served = self.kinds()
            documents = openapi.v3_documents(served)
            self._openapi = {f"v3/{path}": _dump(doc) for path, doc in documents.items()}
            self._openapi["v3"] = _dump(openapi.v3_index(documents))
            self._openapi["v2"] = _dump(openapi.v2_document(served))
        if which not in self._openapi:
            raise errors.unknown_resource()
        return aiohttp.web.Response(body=self._openapi[which], content_type="application/json")

    # -- Kinds ---------------------------------------------------------------------------

    def _kind(self, group: str, version: str, plural: str) -> Kind | None:
        found = self._custom.get((group, version, plural))
        if found is not None:
            return found
        resource = kmock.resource(group, version, plural)
        if resource not in self.resources:
            return None
        return kinds.from_info(group, version, plural, self.resources[resource])

    def _crd_changed(self, crd: Obj, gone: bool) -> None:
        """Serve a CRD's kinds as they are now; when it is gone, serve and keep nothing."""
        spec = crd.get("spec") or {}
        group, plural = spec.get("group"), (spec.get("names") or {}).get("plural")
        for key in [k for k in self._custom if (k[0], k[2]) == (group, plural)]:
            del self._custom[key]
            del self.resources[kmock.resource(*key)]
        self._openapi.clear()
        if gone:
            if group and plural:
                self._writes.purge((group, plural))
            return
        for kind in kinds.from_crd(crd):
            self._custom[(kind.group, kind.version, kind.plural)] = kind
            self.resources[kmock.resource(kind.group, kind.version, kind.plural)] = (
                kmock.ResourceInfo(
                    kind=kind.kind,
                    singular=kind.singular,
                    namespaced=kind.namespaced,
                    verbs=set(kind.verbs),
                    shortnames=set(kind.short_names),
                    categories=set(kind.categories),
                    subresources=set(kind.subresources),
                )
            )

    # -- Resources -----------------------------------------------------------------------

    async def _serve_resource(
        self, raw: aiohttp.web.BaseRequest, route: routes.Route, kind: Kind, body: bytes
    ) -> aiohttp.web.StreamResponse:
        params: Mapping[str, str] = raw.query
        method = raw.method
        sub = route.subresource
        if sub is not None and (sub not in kind.subresources or route.name is None):
            raise errors.unknown_resource()
        if method == "GET" and params.get("watch") in ("true", "1"):
            return await self._watch(raw, route, kind)
        verb = {
            ("GET", False): "list",
            ("GET", True): "get",
            ("POST", False): "create",
            ("PUT", True): "update",
            ("PATCH", True): "patch",
            ("DELETE", True): "delete",
            ("DELETE", False): "deletecollection",
        }.get((method, route.name is not None))
        allowed = kind.verbs if sub is None else ("get", "update", "patch")
        if verb is None or verb not in allowed:
            raise errors.method_not_allowed(method)
        if verb == "list":
            selector = self._selector(raw, route)
            objects = self._store.objects(kind.storage_key, route.namespace)
            found = [obj for obj in objects if selector.matches(obj)]
            accept, revision = raw.headers.get("Accept"), self._store.revision
            return _respond(
                views.many(kind, found, accept=accept, params=params, revision=revision)
            )
        if verb == "create":
            created = self._writes.create(kind, route.namespace, self._body(raw, body), params)
            return _respond(views.served(kind, created[0]), status=201, warnings=created[1])
        if verb == "deletecollection":
            return self._delete_collection(raw, route, kind)
        assert route.name is not None
        old = self._store.get(kind.storage_key, route.namespace, route.name)
        if verb == "patch" and old is None and raw.content_type == patching.APPLY:
            applied = lifecycle.envelope(kind, self._body(raw, body))
            applied["metadata"]["name"] = route.name
            created = self._writes.create(kind, route.namespace, applied, params)
            return _respond(views.served(kind, created[0]), status=201, warnings=created[1])
        if old is None:
            raise kind.not_found(route.name)
        if sub == "scale":
            scale = scaling.scale_of(old, kind.scale or {})
            if verb == "get":
                return _respond(scale)
            wanted = self._body(raw, body) if verb == "update" else self._patch(raw, body, scale)
            return _respond(self._writes.rescale(kind, old, wanted, params))
        if verb == "get":
            return _respond(views.one(kind, old, accept=raw.headers.get("Accept"), params=params))
        if verb == "delete":
            deleted = self._writes.delete(kind, old, self._options(raw, body), dry_run=_dry(raw))
            return _respond(views.served(kind, deleted))
        if verb == "update":
            candidate = lifecycle.envelope(kind, self._body(raw, body))
            self._check_identity(kind, route, candidate)
        else:
            if raw.content_type == patching.APPLY:
                lifecycle.envelope(kind, self._body(raw, body))  # the same kind, or a 400
            candidate = self._patch(raw, body, old)
        obj, warnings = self._writes.update(kind, old, candidate, params, subresource=sub)
        return _respond(views.served(kind, obj), warnings=warnings)

    def _patch(self, raw: aiohttp.web.BaseRequest, body: bytes, target: Obj) -> Obj:
        patch = self._body(raw, body)
        try:
            return patching.apply(raw.content_type, copy.deepcopy(target), patch)
        except patching.UnsupportedPatch:
            raise errors.unsupported_media_type(raw.content_type, patching.ACCEPTED) from None
        except patching.PatchError as exc:
            raise errors.ApiError(422, "Invalid", str(exc)) from None

    def _options(self, raw: aiohttp.web.BaseRequest, body: bytes) -> dict[str, Any]:
        """DeleteOptions; ones we cannot read (protobuf) fall back to the defaults."""
        try:
            options = self._body(raw, body)
        except errors.ApiError:
            return {}
        return options if isinstance(options, dict) else {}

    def _delete_collection(
        self, raw: aiohttp.web.BaseRequest, route: routes.Route, kind: Kind
    ) -> aiohttp.web.Response:
        selector = self._selector(raw, route)
        objects = self._store.objects(kind.storage_key, route.namespace)
        victims = [obj for obj in objects if selector.matches(obj)]
        if not _dry(raw):
            victims = [self._writes.terminate(kind.storage_key, obj) for obj in victims]
        items = [views.served(kind, obj) for obj in victims]
        meta = {"resourceVersion": str(self._store.revision)}
        doc = {"apiVersion": kind.api_version, "kind": f"{kind.kind}List", "metadata": meta}
        return _respond({**doc, "items": items})

    def _body(self, raw: aiohttp.web.BaseRequest, body: bytes) -> Any:
        if raw.content_type == protobuf.MEDIA_TYPE:
            try:
                return protobuf.decode(body)
            except protobuf.ProtobufError as exc:
                message = f"{exc}; send JSON or YAML instead (e.g. kubectl apply -f)"
                raise errors.ApiError(415, "UnsupportedMediaType", message) from None
        try:
            if "yaml" in raw.content_type:
                return yaml.safe_load(body)
            return json.loads(body) if body else None
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(
                f"the body of the request could not be decoded: {exc}"
            ) from None

    def _check_identity(self, kind: Kind, route: routes.Route, body: Obj) -> None:
        meta = body["metadata"]
        if meta.get("name") not in (None, route.name):
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({route.name})"
            )
        if kind.namespaced and meta.get("namespace") not in (None, route.namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        if kind.custom and route.subresource is None and not meta.get("resourceVersion"):
            error = errors.FieldError(
                "metadata.resourceVersion", "Invalid value", "must be specified for an update", 0
            )
            raise errors.invalid(kind.kind, kind.group, route.name or "", [error])

    # -- Reads ---------------------------------------------------------------------------

    def _selector(self, raw: aiohttp.web.BaseRequest, route: routes.Route) -> selectors.Selector:
        try:
            selector = selectors.parse(
                raw.query.get("labelSelector"), raw.query.get("fieldSelector")
            )
        except selectors.SelectorError as exc:
            raise errors.bad_request(str(exc)) from None
        if route.name is not None:  # a watch of one object, by its URL
            name = selectors.Requirement("metadata.name", "=", frozenset([route.name]))
            selector = selectors.Selector(selector.labels, (*selector.fields, name))
        return selector

    async def _watch(
        self, raw: aiohttp.web.BaseRequest, route: routes.Route, kind: Kind
    ) -> aiohttp.web.StreamResponse:
        selector = self._selector(raw, route)
        watch = watching.WatchRequest.from_params(kind, route.namespace, selector, raw.query)
        accept, params = raw.headers.get("Accept"), raw.query
        convert = functools.partial(views.one, kind, accept=accept, params=params)
        return await watching.serve(
            raw,
            store=self._store,
            watch=watch,
            convert=convert,
            bookmark_interval=self.bookmark_interval,
        )


def _dry(raw: aiohttp.web.BaseRequest) -> bool:
    return raw.query.get("dryRun") == "All"
