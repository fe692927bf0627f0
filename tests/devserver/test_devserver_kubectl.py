"""kubectl against the emulator: apply with validation, printer columns, OpenAPI, generators."""

from __future__ import annotations

import asyncio
import json
import pathlib
import shutil
from typing import Any

import aiohttp
import kubernetes.client
import kubernetes.config
import pytest
import yaml

from sprite_orchestrator.devserver.serving import Served, write_kubeconfig
from tests.devserver.conftest import GROUP, PLURAL, VERSION, gadget, gadget_crd

pytestmark = pytest.mark.timeout(20)
KUBECTL = shutil.which("kubectl")


@pytest.fixture
def kubeconfig(served: Served, tmp_path: pathlib.Path) -> pathlib.Path:
    return write_kubeconfig(tmp_path / "kube" / "config", served.url)


async def kubectl(kubeconfig: pathlib.Path, *args: str) -> tuple[int, str, str]:
    """Run kubectl without blocking the loop that serves it."""
    if KUBECTL is None:
        pytest.skip("kubectl not installed: these tests need it on PATH")
    cache = kubeconfig.parent / "cache"
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        f"--kubeconfig={kubeconfig}",
        f"--cache-dir={cache}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def manifest(tmp_path: pathlib.Path, body: dict[str, Any]) -> str:
    path = tmp_path / f"{body['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(body))
    return str(path)


async def test_kubeconfig_is_private_and_understood(kubeconfig: pathlib.Path) -> None:
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    code, out, err = await kubectl(kubeconfig, "get", "namespaces", "-o", "name")
    assert (code, out.split()) == (0, ["namespace/default"]), err


async def test_apply_validates_on_the_server(
    kubeconfig: pathlib.Path, tmp_path: pathlib.Path, served: Served
) -> None:
    code, out, err = await kubectl(kubeconfig, "apply", "-f", manifest(tmp_path, gadget("demo")))
    assert (code, out.strip()) == (0, f"gadget.{GROUP}/demo created"), err

    # kubectl 1.32 found `fieldValidation` on the kind's PATCH in /openapi/v3 and so left the
    # validation to the server: Strict on the wire, no client-side validation from v2.
    posts = [r for r in served.emulator._requests if r.method == "POST"]
    assert posts[-1].params.get("fieldValidation") == "Strict"
    paths = {r.url.path for r in served.emulator._requests}
    assert f"/openapi/v3/apis/{GROUP}/{VERSION}" in paths and "/openapi/v2" not in paths

    unknown = gadget("typo", colour="red")
    code, _, err = await kubectl(kubeconfig, "apply", "-f", manifest(tmp_path, unknown))
    assert code != 0 and 'unknown field "spec.colour"' in err

    invalid = gadget("enum", provider={"type": "Cloud"})
    code, _, err = await kubectl(kubeconfig, "apply", "-f", manifest(tmp_path, invalid))
    assert code != 0 and 'spec.provider.type: Unsupported value: "Cloud"' in err

    changed = gadget("demo", prompt="changed")
    code, out, err = await kubectl(kubeconfig, "apply", "-f", manifest(tmp_path, changed))
    assert (code, out.strip()) == (0, f"gadget.{GROUP}/demo configured"), err
    code, out, _ = await kubectl(kubeconfig, "get", "gd", "demo", "-o", "jsonpath={.spec.prompt}")
    assert out == "changed"


async def test_get_prints_the_printer_columns(
    kubeconfig: pathlib.Path, tmp_path: pathlib.Path, served: Served
) -> None:
    await kubectl(kubeconfig, "apply", "-f", manifest(tmp_path, gadget("shown")))
    status = {"status": {"readyReplicas": 3, "conditions": [{"type": "Ready", "status": "True"}]}}
    url = f"{served.url}/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}/shown/status"
    headers = {"Content-Type": "application/merge-patch+json"}
    async with aiohttp.ClientSession() as http, http.patch(url, json=status, headers=headers):
        pass
    code, out, err = await kubectl(kubeconfig, "get", "gadgets")
    assert code == 0, err
    header, row = (line.split() for line in out.strip().splitlines())
    assert header == ["NAME", "READY", "PROVIDER", "HEALTHY", "AGE"]
    assert row[:4] == ["shown", "3", "Local", "True"]


async def test_apply_a_crd_directory_and_generators(
    kubeconfig: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    crd = gadget_crd()
    crd["metadata"]["name"] = f"widgets.{GROUP}"
    crd["spec"]["names"] = {"kind": "Widget", "plural": "widgets", "shortNames": ["wg"]}
    folder = tmp_path / "crds"
    folder.mkdir()
    (folder / "widgets.yaml").write_text(yaml.safe_dump(crd))
    code, out, err = await kubectl(kubeconfig, "apply", "-f", str(folder))
    assert code == 0, err
    code, out, err = await kubectl(kubeconfig, "get", "wg")
    assert (code, out, err.strip()) == (0, "", "No resources found in default namespace.")

    # Generators send protobuf: the common ones are understood.
    code, _, err = await kubectl(kubeconfig, "create", "namespace", "team")
    assert code == 0, err
    create = ["create", "secret", "generic", "token", "-n", "team", "--from-literal=t=s3"]
    code, _, err = await kubectl(kubeconfig, *create)
    assert code == 0, err
    code, out, _ = await kubectl(kubeconfig, "get", "secret", "token", "-n", "team", "-o", "json")
    assert json.loads(out)["data"] == {"t": "czM="}


async def test_openapi_documents(http: aiohttp.ClientSession) -> None:
    async with http.get("/openapi/v3") as response:
        index = (await response.json())["paths"]
    assert {f"apis/{GROUP}/{VERSION}", "api/v1", "apis/apiextensions.k8s.io/v1"} <= set(index)
    async with http.get(index[f"apis/{GROUP}/{VERSION}"]["serverRelativeURL"]) as response:
        document = await response.json()
    item = document["paths"][f"/apis/{GROUP}/{VERSION}/namespaces/{{namespace}}/{PLURAL}/{{name}}"]
    gvk = {"group": GROUP, "version": VERSION, "kind": "Gadget"}
    assert item["patch"]["x-kubernetes-group-version-kind"] == gvk
    assert "fieldValidation" in [param["name"] for param in item["patch"]["parameters"]]
    schema = document["components"]["schemas"]["dev.devserver.test.v1.Gadget"]
    assert schema["properties"]["spec"]["required"] == ["prompt", "provider"]

    async with http.get("/openapi/v2") as response:
        definitions = (await response.json())["definitions"]
    assert definitions["dev.devserver.test.v1.Gadget"]["x-kubernetes-group-version-kind"] == [gvk]


async def test_the_official_client_reads_the_kubeconfig(kubeconfig: pathlib.Path) -> None:
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=config)
    with kubernetes.client.ApiClient(config) as client:
        core = kubernetes.client.CoreV1Api(client)
        namespaces = await asyncio.to_thread(core.list_namespace)
    assert [ns.metadata.name for ns in namespaces.items] == ["default"]
