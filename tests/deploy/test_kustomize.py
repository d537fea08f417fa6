"""The Kubernetes manifests as a cluster would receive them: every overlay of
deploy/k8s is built with ``kubectl kustomize`` and the rendered objects are checked
offline (no cluster): valid against the Kubernetes schemas in strict mode, probes,
pod hardening, mutual TLS, who may connect to whom, the service addresses the pods
are given, and what production must not contain.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from customs_kit.readiness import LIVENESS_SERVICE

_KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(_KUBECTL is None, reason="kubectl is not installed")

_K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
_OVERLAYS = ("dev", "production")
_BUILDS = ("base", *(f"overlays/{name}" for name in _OVERLAYS))

# Kubernetes name -> (Python package, gRPC port), as fixed by the platform brief.
_SERVICES = {
    "scoring": ("scoring", 50051),
    "criteria": ("criteria", 50052),
    "exam-reports": ("exam_reports", 50053),
    "compliance": ("compliance", 50054),
    "audit-referral": ("audit_referral", 50055),
}
# caller -> callees: watch streams, outbox relays and reads between the services.
_CALLS = {
    "scoring": {"criteria", "compliance", "exam-reports", "audit-referral"},
    "criteria": {"scoring", "exam-reports", "compliance", "audit-referral"},
    "exam-reports": {"criteria", "compliance", "audit-referral", "scoring"},
    "compliance": set(),
    "audit-referral": {"criteria", "compliance", "scoring"},
}
_CLIENT_NAMESPACE_LABEL = "customs-platform/client"
# Every service serves Prometheus metrics on this port (METRICS_PORT).
_METRICS_PORT = 9464
# With mutual TLS, the plaintext port serving only health, for the kubelet's probes.
_HEALTH_PORT = 8080
# Secrets no overlay defines: minted outside the repository (deploy/k8s/README.md).
_CREDENTIAL_SECRETS = {"customs-auth"} | {f"{name}-credentials" for name in _SERVICES}
_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")

Obj = dict[str, Any]


@functools.cache
def _render(target: str) -> tuple[Obj, ...]:
    """The objects ``kubectl kustomize`` produces for ``target``, as JSON.

    kubectl cannot print kustomize output as JSON, but a local (cluster-less)
    annotate that removes an annotation nobody sets re-prints any object unchanged.
    """
    assert _KUBECTL is not None
    built = subprocess.run(
        [_KUBECTL, "kustomize", str(_K8S / target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, f"kubectl kustomize {target} failed:\n{built.stderr}"
    converted = subprocess.run(
        [_KUBECTL, "annotate", "--local", "--filename=-", "--output=json", "unused.invalid/none-"],
        input=built.stdout,
        capture_output=True,
        text=True,
        check=True,
    )
    decoder = json.JSONDecoder()
    text, position, objects = converted.stdout, 0, []
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        obj, position = decoder.raw_decode(text, position)
        objects.append(obj)
    return tuple(objects)


def _of_kind(objects: tuple[Obj, ...], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def _named(objects: tuple[Obj, ...], kind: str, name: str) -> Obj:
    matches = [obj for obj in _of_kind(objects, kind) if obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def _pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def _containers(workload: Obj) -> Iterator[Obj]:
    spec = _pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def _env(container: Obj) -> dict[str, Obj]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _pod_labels(objects: tuple[Obj, ...], kind: str, name: str) -> dict[str, str]:
    labels: dict[str, str] = _named(objects, kind, name)["spec"]["template"]["metadata"]["labels"]
    return labels


# An endpoint of a connection: the labels of its namespace and of its pod; a pod
# outside the cluster (a managed database) has neither.
Endpoint = tuple[Mapping[str, str], Mapping[str, str]] | None


def _peer_matches(peer: Obj, endpoint: Endpoint, own_namespace: Mapping[str, str]) -> bool:
    if "ipBlock" in peer:
        return endpoint is None
    if endpoint is None:
        return False
    namespace_labels, pod_labels = endpoint
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif namespace_labels is not own_namespace:
        return False
    return _selects(peer.get("podSelector", {}), pod_labels)


def _rule_admits(
    rule: Obj, key: str, endpoint: Endpoint, port: int, own_namespace: Mapping[str, str]
) -> bool:
    ports = rule.get("ports")
    if ports is not None and not any(entry.get("port") in (None, port) for entry in ports):
        return False
    peers = rule.get(key)
    return peers is None or any(_peer_matches(peer, endpoint, own_namespace) for peer in peers)


def _direction_allows(
    policies: list[Obj],
    direction: str,
    pod_labels: Mapping[str, str],
    other: Endpoint,
    port: int,
    own_namespace: Mapping[str, str],
) -> bool:
    """Whether ``direction`` (Ingress/Egress) policies let the pod talk to ``other``.

    A pod that no policy of that direction selects is not isolated.
    """
    key, rules_key = ("from", "ingress") if direction == "Ingress" else ("to", "egress")
    isolating = [
        policy
        for policy in policies
        if direction in policy["spec"].get("policyTypes", ["Ingress"])
        and _selects(policy["spec"]["podSelector"], pod_labels)
    ]
    if not isolating:
        return True
    return any(
        _rule_admits(rule, key, other, port, own_namespace)
        for policy in isolating
        for rule in policy["spec"].get(rules_key, [])
    )


class _Network:
    """Connections allowed by the NetworkPolicies of one rendered namespace."""

    def __init__(self, objects: tuple[Obj, ...]) -> None:
        self.policies = _of_kind(objects, "NetworkPolicy")
        self.namespace: Mapping[str, str] = {"kubernetes.io/metadata.name": "platform"}

    def sends(self, source: Endpoint, destination: Endpoint, port: int) -> bool:
        """Whether egress policies let ``source``, a pod of this namespace, connect."""
        assert source is not None
        return _direction_allows(
            self.policies, "Egress", source[1], destination, port, self.namespace
        )

    def receives(self, destination: Endpoint, source: Endpoint, port: int) -> bool:
        """Whether ingress policies let ``destination``, a pod of this namespace, accept."""
        assert destination is not None
        return _direction_allows(
            self.policies, "Ingress", destination[1], source, port, self.namespace
        )

    def allows(self, source: Endpoint, destination: Endpoint, port: int) -> bool:
        """Both ends agree; an end outside this namespace has no say here."""
        inside = [end is not None and end[0] is self.namespace for end in (source, destination)]
        return (not inside[0] or self.sends(source, destination, port)) and (
            not inside[1] or self.receives(destination, source, port)
        )

    def pod(self, labels: Mapping[str, str]) -> Endpoint:
        return (self.namespace, labels)


def probe_violations(objects: tuple[Obj, ...]) -> list[str]:
    """What keeps a service's pods from being probed with the gRPC health service.

    Probes go to the gRPC port, or with mutual TLS (``TLS_CERT_FILE`` set) to the
    plaintext health-only port (``HEALTH_PORT``), as the kubelet cannot present
    a client certificate.
    """
    problems = []
    for name, (_, port) in _SERVICES.items():
        (container,) = _pod_spec(_named(objects, "Deployment", name))["containers"]
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        env = _env(container)
        expected_ports = {"grpc": port, "metrics": _METRICS_PORT}
        probed = port
        if "TLS_CERT_FILE" in env:
            probed = _HEALTH_PORT
            expected_ports["health"] = _HEALTH_PORT
            if env.get("HEALTH_PORT", {}).get("value") != str(_HEALTH_PORT):
                problems.append(f"{name}: mutual TLS without HEALTH_PORT={_HEALTH_PORT}")
        if ports != expected_ports:
            problems.append(f"{name}: container ports {ports}, expected {expected_ports}")
        # Readiness follows the database; liveness and start-up only the process.
        for probe, service in (
            ("startupProbe", LIVENESS_SERVICE),
            ("readinessProbe", ""),
            ("livenessProbe", LIVENESS_SERVICE),
        ):
            grpc = container.get(probe, {}).get("grpc")
            if grpc is None:
                problems.append(f"{name}: no gRPC {probe}")
            elif grpc.get("port") != probed:
                problems.append(f"{name}: {probe} on port {grpc.get('port')}, not {probed}")
            elif grpc.get("service", "") != service:
                problems.append(
                    f"{name}: {probe} checks {grpc.get('service', '')!r}, not {service!r}"
                )
    return problems


def hardening_violations(objects: tuple[Obj, ...]) -> list[str]:
    """What lets a workload's pod run as root, write its root, escalate or run unbounded."""
    problems = []
    for workload in (obj for obj in objects if obj["kind"] in _WORKLOAD_KINDS):
        where = f"{workload['kind']} {workload['metadata']['name']}"
        pod = _pod_spec(workload)
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: mounts a service account token")
        for container in _containers(workload):
            security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
            checks = {
                "runAsNonRoot": security.get("runAsNonRoot") is True,
                "runAsUser": security.get("runAsUser", 1) != 0,
                "readOnlyRootFilesystem": security.get("readOnlyRootFilesystem") is True,
                "allowPrivilegeEscalation": security.get("allowPrivilegeEscalation") is False,
                "capabilities": "ALL" in security.get("capabilities", {}).get("drop", []),
                "seccompProfile": security.get("seccompProfile", {}).get("type")
                == "RuntimeDefault",
            }
            problems += [f"{where}: securityContext {key}" for key, ok in checks.items() if not ok]
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                if not {"cpu", "memory"} <= resources.get(bound, {}).keys():
                    problems.append(f"{where}: resources {bound} lack cpu or memory")
    return problems


@pytest.mark.parametrize("target", _BUILDS)
def test_every_service_probes_readiness_and_liveness_with_the_health_service(target: str) -> None:
    assert probe_violations(_render(target)) == []


@pytest.mark.parametrize("target", _BUILDS)
def test_every_pod_runs_non_root_on_a_read_only_root_without_capabilities(target: str) -> None:
    objects = _render(target)
    assert [obj for obj in objects if obj["kind"] in _WORKLOAD_KINDS]
    assert hardening_violations(objects) == []


@pytest.mark.parametrize("target", _BUILDS)
def test_each_service_port_is_the_container_port_of_the_pods_it_selects(target: str) -> None:
    objects = _render(target)
    workloads = [obj for obj in objects if obj["kind"] in ("Deployment", "StatefulSet")]
    for service in _of_kind(objects, "Service"):
        name = service["metadata"]["name"]
        selected = [
            workload
            for workload in workloads
            if _selects(
                {"matchLabels": service["spec"]["selector"]},
                workload["spec"]["template"]["metadata"]["labels"],
            )
        ]
        assert selected, f"Service {name} selects no pods"
        for workload in selected:
            container_ports = {
                port.get("name"): port["containerPort"]
                for container in _containers(workload)
                for port in container.get("ports", [])
            }
            for port in service["spec"]["ports"]:
                target_port = port.get("targetPort", port["port"])
                resolved = container_ports.get(target_port, target_port)
                assert resolved in container_ports.values(), f"{name} -> {target_port}"
                assert port["port"] == resolved, f"Service {name} port differs from its pods'"
        if name in _SERVICES:
            assert [p.get("appProtocol") for p in service["spec"]["ports"]] == ["grpc", "http"]


@pytest.mark.parametrize("target", _BUILDS)
def test_the_addresses_given_to_pods_name_existing_services_and_ports(target: str) -> None:
    objects = _render(target)
    service_ports = {
        service["metadata"]["name"]: {port["port"] for port in service["spec"]["ports"]}
        for service in _of_kind(objects, "Service")
    }
    (config,) = [
        obj
        for obj in _of_kind(objects, "ConfigMap")
        if obj["metadata"]["name"].startswith("customs-platform")
    ]
    for name, (package, port) in _SERVICES.items():
        assert config["data"][f"{package.upper()}_ADDR"] == f"{name}:{port}"
        assert port in service_ports[name]
    endpoint = config["data"].get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if "otel-collector" in service_ports:
        assert endpoint == "http://otel-collector:4317"
        assert 4317 in service_ports["otel-collector"]
    else:
        assert endpoint is None, "traces would be exported to a collector that is not deployed"
    for deployment in _of_kind(objects, "Deployment"):
        for container in _containers(deployment):
            config_maps = {
                source["configMapRef"]["name"]
                for source in container.get("envFrom", [])
                if "configMapRef" in source
            }
            assert config_maps <= {config["metadata"]["name"]}, deployment["metadata"]["name"]


@pytest.mark.parametrize("target", _BUILDS)
def test_migrations_run_as_a_job_with_the_service_image_not_at_server_start(target: str) -> None:
    objects = _render(target)
    for name, (package, _) in _SERVICES.items():
        (server,) = _pod_spec(_named(objects, "Deployment", name))["containers"]
        (migrate,) = _pod_spec(_named(objects, "Job", f"{name}-migrate"))["containers"]
        assert _env(server)["RUN_MIGRATIONS_ON_START"]["value"] == "false"
        assert migrate["command"] == ["python", "-m", f"{package}.entrypoints.migrate"]
        assert migrate["image"] == server["image"]
        assert _env(migrate)["DATABASE_URL"] == _env(server)["DATABASE_URL"]


@pytest.mark.parametrize("target", _BUILDS)
def test_every_service_has_a_disruption_budget_and_its_own_account(target: str) -> None:
    objects = _render(target)
    for name in _SERVICES:
        deployment = _named(objects, "Deployment", name)
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert _selects(
            _named(objects, "PodDisruptionBudget", name)["spec"]["selector"], pod_labels
        )
        assert _pod_spec(deployment)["serviceAccountName"] == name
        assert _named(objects, "ServiceAccount", name)["automountServiceAccountToken"] is False


@pytest.mark.parametrize("target", _BUILDS)
def test_scoring_alone_is_autoscaled_on_cpu(target: str) -> None:
    objects = _render(target)
    (autoscaler,) = _of_kind(objects, "HorizontalPodAutoscaler")
    spec = autoscaler["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "scoring",
    }
    assert [metric["resource"]["name"] for metric in spec["metrics"]] == ["cpu"]
    assert 1 <= spec["minReplicas"] <= spec["maxReplicas"]
    # A replica count in the Deployment would be re-imposed on every apply,
    # undoing the autoscaler's decision.
    assert "replicas" not in _named(objects, "Deployment", "scoring")["spec"]


@pytest.mark.parametrize("target", _BUILDS)
def test_secrets_reach_pods_by_reference_only(target: str) -> None:
    objects = _render(target)
    defined = {secret["metadata"]["name"] for secret in _of_kind(objects, "Secret")}
    # cert-manager writes each Certificate's Secret.
    defined |= {cert["spec"]["secretName"] for cert in _of_kind(objects, "Certificate")}
    for workload in (obj for obj in objects if obj["kind"] in _WORKLOAD_KINDS):
        referenced = {
            volume["secret"]["secretName"]
            for volume in _pod_spec(workload).get("volumes", [])
            if "secret" in volume
        }
        for container in _containers(workload):
            env = _env(container)
            for variable in ("DATABASE_URL", "PAGE_TOKEN_SECRET", "POSTGRES_PASSWORD"):
                if variable in env:
                    assert "value" not in env[variable], f"{variable} written in plain text"
            referenced |= {
                entry["valueFrom"]["secretKeyRef"]["name"]
                for entry in env.values()
                if "secretKeyRef" in entry.get("valueFrom", {})
            }
        # Only dev defines its databases' Secrets (in-cluster, dev-only passwords).
        external = set(_CREDENTIAL_SECRETS)
        if target != "overlays/dev":
            external |= {f"{name}-database" for name in _SERVICES}
        undefined = referenced - defined
        assert undefined <= external, f"{workload['metadata']['name']} needs {undefined - external}"


def test_production_uses_a_managed_database_and_defines_no_secret() -> None:
    objects = _render("overlays/production")
    assert _of_kind(objects, "StatefulSet") == []
    assert _of_kind(objects, "Secret") == []
    network = _Network(objects)
    for name in _SERVICES:
        for kind, workload in (("Deployment", name), ("Job", f"{name}-migrate")):
            pod = network.pod(_pod_labels(objects, kind, workload))
            assert network.allows(pod, None, 5432), f"{workload} cannot reach its database"


def test_dev_runs_one_postgres_per_service_reachable_only_by_it() -> None:
    objects = _render("overlays/dev")
    network = _Network(objects)
    for name in _SERVICES:
        database = _named(objects, "StatefulSet", f"{name}-postgres")
        (container,) = _pod_spec(database)["containers"]
        assert container["image"].startswith("postgres:15")
        assert database["spec"]["volumeClaimTemplates"], f"{name}-postgres keeps no data"
        database_pod = network.pod(_pod_labels(objects, "StatefulSet", f"{name}-postgres"))
        for other in _SERVICES:
            for kind, workload in (("Deployment", other), ("Job", f"{other}-migrate")):
                client = network.pod(_pod_labels(objects, kind, workload))
                assert network.allows(client, database_pod, 5432) == (other == name), (
                    f"{workload} -> {name}-postgres"
                )


@pytest.mark.parametrize("overlay", _OVERLAYS)
def test_every_workload_namespace_denies_by_default(overlay: str) -> None:
    objects = _render(f"overlays/{overlay}")
    namespaces = {obj["metadata"]["namespace"] for obj in objects if obj["kind"] in _WORKLOAD_KINDS}
    deny_all = {
        policy["metadata"]["namespace"]
        for policy in _of_kind(objects, "NetworkPolicy")
        if policy["spec"]["podSelector"] == {}
        and set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not policy["spec"].get("ingress")
        and not policy["spec"].get("egress")
    }
    assert namespaces
    assert namespaces <= deny_all
    for namespace in namespaces:
        labels = _named(objects, "Namespace", namespace)["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay", _OVERLAYS)
def test_services_call_and_accept_calls_from_their_peers_only(overlay: str) -> None:
    objects = _render(f"overlays/{overlay}")
    network = _Network(objects)
    pods = {name: network.pod(_pod_labels(objects, "Deployment", name)) for name in _SERVICES}
    for caller, caller_pod in pods.items():
        for callee, (_, port) in _SERVICES.items():
            if callee != caller:
                # Each side on its own, so that neither relies on the other's policy.
                expected = callee in _CALLS[caller]
                edge = f"{caller} -> {callee}"
                assert network.sends(caller_pod, pods[callee], port) == expected, edge
                assert network.receives(pods[callee], caller_pod, port) == expected, edge


@pytest.mark.parametrize("overlay", _OVERLAYS)
def test_outside_clients_come_only_through_their_labelled_namespaces(overlay: str) -> None:
    objects = _render(f"overlays/{overlay}")
    network = _Network(objects)

    def outside(client: str | None) -> Endpoint:
        labels = {_CLIENT_NAMESPACE_LABEL: client} if client else {}
        return (labels, {"app": "client"})

    for name, (_, port) in _SERVICES.items():
        pod = network.pod(_pod_labels(objects, "Deployment", name))
        assert network.allows(outside("ingress"), pod, port), f"ingress -> {name}"
        assert network.allows(outside("declaration-system"), pod, port) == (name == "scoring")
        assert not network.allows(outside(None), pod, port), f"any namespace -> {name}"


@pytest.mark.parametrize("overlay", _OVERLAYS)
def test_every_service_exports_telemetry_to_the_collector(overlay: str) -> None:
    objects = _render(f"overlays/{overlay}")
    network = _Network(objects)
    collector = network.pod(_pod_labels(objects, "Deployment", "otel-collector"))
    for name in _SERVICES:
        pod = network.pod(_pod_labels(objects, "Deployment", name))
        assert network.allows(pod, collector, 4317), name
        assert not network.allows(collector, pod, _SERVICES[name][1]), name


def test_production_images_carry_a_release_tag() -> None:
    for workload in _render("overlays/production"):
        if workload["kind"] in _WORKLOAD_KINDS:
            for container in _containers(workload):
                image = container["image"]
                _, _, tag = image.rpartition("/")[2].rpartition(":")
                assert tag not in ("", "latest", "dev"), image


@pytest.mark.parametrize("overlay", _OVERLAYS)
def test_every_service_serves_metrics_for_scraping_from_the_monitoring_namespace(
    overlay: str,
) -> None:
    objects = _render(f"overlays/{overlay}")
    network = _Network(objects)
    monitoring: Endpoint = ({_CLIENT_NAMESPACE_LABEL: "monitoring"}, {"app": "prometheus"})
    for name in _SERVICES:
        deployment = next(
            o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name
        )
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        (server,) = _containers(deployment)
        ports = {port["name"]: port["containerPort"] for port in server["ports"]}
        environment = {variable["name"]: variable.get("value") for variable in server["env"]}
        assert annotations["prometheus.io/scrape"] == "true", name
        assert int(annotations["prometheus.io/port"]) == ports["metrics"] == _METRICS_PORT, name
        assert int(environment["METRICS_PORT"]) == _METRICS_PORT, name
        pod = network.pod(_pod_labels(objects, "Deployment", name))
        assert network.allows(monitoring, pod, ports["metrics"]), name
        assert not network.allows(({}, {"app": "client"}), pod, ports["metrics"]), name


# The oldest Kubernetes the platform supports, and the newest the validator knows.
_KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
# cert-manager's kinds are custom resources: the Kubernetes schemas have none, and
# cert-manager's CRD schemas cannot be fetched offline. They are skipped by kind
# (and only they); test_every_service_presents_a_certificate_of_the_platform_ca
# checks the fields the platform relies on.
_CUSTOM_KINDS = {("cert-manager.io/v1", "Certificate"), ("cert-manager.io/v1", "Issuer")}


@pytest.mark.parametrize("version", _KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", _OVERLAYS)
def test_every_object_is_valid_for_kubernetes_in_strict_mode(overlay: str, version: str) -> None:
    problems = []
    for obj in _render(f"overlays/{overlay}"):
        if (obj["apiVersion"], obj["kind"]) in _CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(part) for part in error.path)
            problems.append(f"{obj['kind']} {obj['metadata']['name']}: {where}: {error.message}")
    assert problems == []


def test_strict_validation_refuses_a_misspelt_field() -> None:
    deployment = copy.deepcopy(_named(_render("overlays/production"), "Deployment", "criteria"))
    container = _pod_spec(deployment)["containers"][0]
    container["readinessProbe"]["grcp"] = container["readinessProbe"].pop("grpc")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, _KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize(
    ("mutation", "found"),
    [
        (lambda c, _p: c.pop("livenessProbe"), "no gRPC livenessProbe"),
        (lambda c, _p: c.pop("readinessProbe"), "no gRPC readinessProbe"),
        (lambda c, _p: c["resources"]["limits"].pop("memory"), "resources limits"),
        (lambda c, _p: c.pop("securityContext"), "securityContext readOnlyRootFilesystem"),
        (lambda _c, p: p.pop("securityContext"), "securityContext runAsNonRoot"),
    ],
    ids=["liveness probe", "readiness probe", "memory limit", "container context", "pod context"],
)
def test_the_policy_checks_catch_a_removed_probe_limit_or_security_context(
    mutation: Any, found: str
) -> None:
    objects = _render("overlays/production")
    assert probe_violations(objects) == hardening_violations(objects) == []
    mutated = copy.deepcopy(list(objects))
    deployment = next(
        o for o in mutated if o["kind"] == "Deployment" and o["metadata"]["name"] == "scoring"
    )
    mutation(_pod_spec(deployment)["containers"][0], _pod_spec(deployment))
    problems = probe_violations(tuple(mutated)) + hardening_violations(tuple(mutated))
    assert problems, "the policy checks accepted the mutated Deployment"
    assert all(problem.startswith(("scoring", "Deployment scoring")) for problem in problems)
    assert any(found in problem for problem in problems), problems


@pytest.mark.parametrize("overlay", _OVERLAYS)
def test_every_service_presents_a_certificate_of_the_platform_ca(overlay: str) -> None:
    objects = _render(f"overlays/{overlay}")
    certificates = {cert["metadata"]["name"]: cert for cert in _of_kind(objects, "Certificate")}
    issuers = {issuer["metadata"]["name"]: issuer for issuer in _of_kind(objects, "Issuer")}
    for name in _SERVICES:
        (container,) = _pod_spec(_named(objects, "Deployment", name))["containers"]
        env = {key: entry.get("value") for key, entry in _env(container).items()}
        mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
        volumes = {v["name"]: v for v in _pod_spec(_named(objects, "Deployment", name))["volumes"]}
        assert {env[key] for key in ("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CLIENT_CA_FILE")} == {
            f"{mounts['tls']}/{file}" for file in ("tls.crt", "tls.key", "ca.crt")
        }, name
        certificate = certificates[name]["spec"]
        assert volumes["tls"]["secret"]["secretName"] == certificate["secretName"], name
        # Peers dial the Service's short name; the certificate serves and calls.
        assert name in certificate["dnsNames"], name
        assert {"server auth", "client auth"} <= set(certificate["usages"]), name
        assert certificate["issuerRef"] == {
            "group": "cert-manager.io",
            "kind": "Issuer",
            "name": "customs-platform-ca",
        }, name
    if overlay == "dev":
        # dev makes its own CA in the cluster; production's Issuer is the PKI's.
        ca = issuers["customs-platform-ca"]["spec"]["ca"]["secretName"]
        assert certificates["customs-platform-ca"]["spec"]["isCA"] is True
        assert certificates["customs-platform-ca"]["spec"]["secretName"] == ca
    else:
        assert issuers == {}
