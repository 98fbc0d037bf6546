"""deploy/'s Kubernetes manifests: valid for the pinned release, kustomized, locked down, with secrets."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
import yaml

from tests.support.deploy import (
    DEPLOY,
    KUBERNETES,
    KUBERNETES_VERSION,
    config_map,
    dockerfile,
    gateway_container,
    kustomization,
    manifest,
    manifests,
)

# --- Kubernetes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", kustomization()["resources"])
def test_every_manifest_is_valid_for_the_pinned_kubernetes_release(name: str) -> None:
    documents = [d for d in yaml.safe_load_all((KUBERNETES / name).read_text()) if d is not None]
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_strict_validation_refuses_a_field_the_api_does_not_know() -> None:
    deployment = yaml.safe_load((KUBERNETES / "deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGets"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="httpGets"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_names_every_manifest_and_replaces_the_image() -> None:
    on_disk = {path.name for path in KUBERNETES.glob("*.y*ml")} - {"kustomization.yaml"}
    assert sorted(kustomization()["resources"]) == sorted(on_disk)
    assert {d["kind"] for d in manifests()} == {
        "ConfigMap",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    }
    (image,) = kustomization()["images"]
    assert image["name"] == gateway_container()["image"]


def test_the_deployment_runs_two_locked_down_replicas_with_their_settings() -> None:
    deployment = manifest("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = gateway_container()
    assert deployment["spec"]["replicas"] >= 2
    autoscaler = manifest("HorizontalPodAutoscaler")["spec"]
    assert autoscaler["minReplicas"] >= 2
    assert autoscaler["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert container["envFrom"] == [{"configMapRef": {"name": manifest("ConfigMap")["metadata"]["name"]}}]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"requests", "limits"} <= set(container["resources"])
    assert pod["topologySpreadConstraints"]
    # The image's user is a number runAsNonRoot can check, the one the pod runs as.
    assert re.search(r"^USER (\d+)(?::\d+)?$", dockerfile(), re.M)
    assert f"USER {pod['securityContext']['runAsUser']}" in dockerfile()
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert manifest("Service")["spec"]["selector"] == selector
    assert manifest("PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector


def test_secrets_come_from_the_secret_the_readme_creates() -> None:
    references = {
        variable["name"]: variable["valueFrom"]["secretKeyRef"]
        for variable in gateway_container()["env"]
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    assert set(references) == {
        "METASTUDIO_AK",
        "METASTUDIO_SK",
        "GATEWAY_JWT_SECRET",
        "GATEWAY_CALLBACK_SECRET",
        "REDIS_URL",
    }
    assert not set(references) & set(config_map()), "a secret setting in the ConfigMap"
    assert references["GATEWAY_JWT_SECRET"]["optional"] is True, "GATEWAY_JWKS_URL may be used instead"
    readme = (DEPLOY / "README.md").read_text()
    (secret_name,) = {reference["name"] for reference in references.values()}
    assert f"kubectl create secret generic {secret_name}" in readme
    for reference in references.values():
        assert f"--from-literal={reference['key']}=" in readme or f"--from-file={reference['key']}=" in readme
