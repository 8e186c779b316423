"""`bottle-launch render kubernetes`: a bottle as Kubernetes objects, checked without a cluster.

- The rendering of a bottle with all three gates is kept as a stored expectation
  (data/kubernetes-expected.yaml); BOTTLE_REGENERATE_EXPECTED=1 rewrites it.
- Every object validates against the Kubernetes 1.37 schemas, strictly (no unknown field), with
  kubernetes-validate 1.37.0 (the newest it ships); skipped only where it is not installed.
- The NetworkPolicies are read by a small evaluator of their semantics (below) over the bottle's
  Pods, the cluster DNS, another bottle and the internet: what reaches what.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import os
import stat
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bottle_manifest
import pytest
from bottle_contract.egress import KNOWN_FILE, MITMPROXY_CA_FILE, known_from_json
from bottle_launcher.render import _yaml as yaml_emitter
from bottle_launcher.render import offline_bottle
from bottle_launcher.render.kubernetes import KubeOptions, header, namespace, render, stream

DATA = Path(__file__).parent / "data"
EXPECTED = DATA / "kubernetes-expected.yaml"
BOTTLE_ID = "1a2b3c4d"
KUBERNETES = "1.37.0"  # kubernetes-validate 1.37.0 ships the 1.37 schemas: the newest Kubernetes
IMAGES = {key: f"registry.example/claude-bottle/{key}:test" for key in ("agent", "egress", "ssh-gate", "git-gate")}
KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n"
VALUES = {"GH_PAT": "ghp_" + "a" * 36, "CLAUDE_BOTTLE_OAUTH_TOKEN": "sk-ant-oat01-" + "b" * 40}
HOST_VARS = ("BOTTLE_EGRESS_UPSTREAM_CA", "BOTTLE_BASE_IMAGE", "BOTTLE_CLAUDE_CODE_VERSION", "BOTTLE_PIPELOCK_IMAGE")


@pytest.fixture(autouse=True)
def _plain_host(monkeypatch):
    for name in HOST_VARS:
        monkeypatch.delenv(name, raising=False)


def manifest(tmp_path: Path, **changes: Any) -> bottle_manifest.AgentSpec:
    data = json.loads((DATA / "kubernetes-bottle.json").read_text())
    for key, value in changes.items():
        data["agents"]["demo"][key] = value
    folder = tmp_path / "project"
    (folder / "keys").mkdir(parents=True, exist_ok=True)
    for name in ("gitea", "forge"):
        (folder / "keys" / name).write_bytes(KEY.replace(b"not a real", name.encode()))
    (folder / "claude-bottle.json").write_text(json.dumps(data))
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return bottle_manifest.load(folder / "claude-bottle.json", home=home).agent("demo")


def rendered(tmp_path: Path, *, values: bool = False, environ: dict[str, str] | None = None, **changes: Any):
    spec = manifest(tmp_path, **changes)
    env = {"HOME": str(tmp_path / "home"), **(environ or {})}
    bottle = offline_bottle(spec, bottle_id=BOTTLE_ID, with_secrets=values, environ=env, prompt=_typed)
    return bottle, render(bottle.runtime, bottle.handover, KubeOptions(images=IMAGES))


def _typed(request: bottle_manifest.PromptRequest) -> str:
    return f"typed-{request.key}"


def text_of(tmp_path: Path, bottle: Any, objects: list[dict[str, Any]]) -> str:
    runtime = bottle.runtime
    comment = header(runtime.plan.agent, runtime.plan.bottle, runtime.bottle_id, namespace(runtime), IMAGES, False)
    # The manifest's folder is the test's own: the stored expectation names it so.
    return stream(objects, comment).replace(str(tmp_path / "project"), "/project")


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


# -- the stored expectation ------------------------------------------------------------------------


def test_the_rendering_matches_the_stored_expectation(tmp_path):
    bottle, objects = rendered(tmp_path)
    text = text_of(tmp_path, bottle, objects)
    if os.environ.get("BOTTLE_REGENERATE_EXPECTED"):
        EXPECTED.write_text(text)
    assert text == EXPECTED.read_text(), "rendering changed; BOTTLE_REGENERATE_EXPECTED=1 rewrites the expectation"


def test_the_objects_come_in_the_order_they_apply(tmp_path):
    _, objects = rendered(tmp_path)
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "Namespace"
    # Every policy before any Pod: nothing runs unfenced.
    assert max(i for i, k in enumerate(kinds) if k == "NetworkPolicy") < kinds.index("Pod")
    assert kinds[-1] == "Pod" and objects[-1]["metadata"]["name"] == "agent"
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Service"] == ["egress-gate", "ssh-gate", "git-gate"]


# -- Kubernetes' own schemas ---------------------------------------------------------------------


def test_every_object_validates_against_the_kubernetes_schemas(tmp_path):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    _, objects = rendered(tmp_path)
    _, with_values = rendered(tmp_path, values=True, environ=VALUES)
    _, persisted = rendered(tmp_path / "persist", persist=True)
    for document in [*objects, *with_values, *persisted]:
        # strict: a field the schema does not know is an error too
        kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_the_yaml_reads_back_as_the_objects(tmp_path):
    yaml = pytest.importorskip("yaml")
    _, objects = rendered(tmp_path)
    assert list(yaml.safe_load_all(stream(objects, "a comment"))) == objects


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "no",
        "0755",
        "1e3",
        "",
        "two\nlines\n",
        "two\nlines",
        "  leading\nspace\n",
        "trailing \nblank \n",
        "ends with blank lines\n\n\n",
        "tab\tinside\n\tand leading\n",
        "carriage\r\nreturn\n",
        "# not a comment\n- not a list\nkey: not a map\n",
        "unicode é \u2028 separator\nline\n",
        "a line\n\nafter an empty one\n",
    ],
)
def test_the_emitter_writes_every_string_so_it_reads_back_the_same(value):
    yaml = pytest.importorskip("yaml")
    document = {"a": value, "list": [value, {"k": value}, [value]], "no": {"yes": value}, "": [], "x": {}}
    assert yaml.safe_load(yaml_emitter.dump(document)) == document


# -- what the Pods are -------------------------------------------------------------------------------


def test_the_agent_pod_is_sandboxed_non_root_and_mounts_no_secret(tmp_path):
    _, objects = rendered(tmp_path)
    pod = find(objects, "Pod", "agent")["spec"]
    assert pod["runtimeClassName"] == "gvisor" and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsNonRoot"] is True
    assert not [v for v in pod["volumes"] if "secret" in v or "projected" in v]
    for container in [*pod["initContainers"], *pod["containers"]]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["capabilities"] == {"drop": ["ALL"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["handover"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Mi"}
    assert volumes["tmp"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "512Mi"}
    assert volumes["work"] == {"name": "work", "emptyDir": {}}
    (agent,) = pod["containers"]
    env = {e["name"]: e["value"] for e in agent["env"]}
    assert env["HTTPS_PROXY"] == "http://egress-gate:8888" and "CLAUDE_CODE_OAUTH_TOKEN" not in env
    assert agent["resources"]["limits"] == {"memory": "4Gi", "cpu": "2", "ephemeral-storage": "10Gi"}
    assert [c["name"] for c in pod["initContainers"]] == ["files", "checkout"]


def test_each_gate_runs_in_its_own_pod_with_its_secret_only_in_its_init_container(tmp_path):
    _, objects = rendered(tmp_path)
    for name, uid, secret in (("egress-gate", 999, "egress-gate-handover"), ("git-gate", 997, "git-gate-handover")):
        pod = find(objects, "Pod", name)["spec"]
        assert pod["securityContext"]["runAsUser"] == uid and pod["hostname"] == name
        (source,) = [v for v in pod["volumes"] if "secret" in v]
        assert source["secret"]["secretName"] == secret
        (init,) = pod["initContainers"]
        assert source["name"] in [m["name"] for m in init["volumeMounts"]]
        (gate,) = pod["containers"]
        assert source["name"] not in [m["name"] for m in gate["volumeMounts"]]
        handover = next(v for v in pod["volumes"] if v["name"] == "handover")
        assert handover["emptyDir"]["medium"] == "Memory"
    ssh = find(objects, "Pod", "ssh-gate")["spec"]
    assert "initContainers" not in ssh and not [v for v in ssh["volumes"] if "secret" in v]
    git = find(objects, "Pod", "git-gate")["spec"]
    assert git["hostAliases"] == [{"ip": "100.64.0.7", "hostnames": ["git.example.com"]}]


def test_without_values_every_secret_is_empty_and_says_how_to_fill_it(tmp_path):
    _, objects = rendered(tmp_path)
    secrets = [o for o in objects if o["kind"] == "Secret"]
    assert {o["metadata"]["name"] for o in secrets} == {"egress-gate-handover", "git-gate-handover", "agent-handover"}
    for document in secrets:
        assert set(document["data"].values()) == {""}
        assert "dev.claude-bottle/fill" in document["metadata"]["annotations"]
    assert find(objects, "Secret", "git-gate-handover")["data"] == {"ssh_forge": ""}
    assert find(objects, "ConfigMap", "egress-ca")["data"] == {"ca.pem": ""}


def test_with_values_the_secrets_hold_what_start_would_hand_over(tmp_path):
    token = "sk-ant-oat01-" + "b" * 40
    pat = "ghp_" + "a" * 36
    _, objects = rendered(tmp_path, values=True, environ={"GH_PAT": pat, "CLAUDE_BOTTLE_OAUTH_TOKEN": token})
    egress = find(objects, "Secret", "egress-gate-handover")["data"]
    ca = base64.b64decode(egress[MITMPROXY_CA_FILE])
    certificate = find(objects, "ConfigMap", "egress-ca")["data"]["ca.pem"]
    assert b"PRIVATE KEY" in ca and ca.endswith(certificate.encode())  # the key's own certificate
    known = {k.value: k for k in known_from_json(base64.b64decode(egress[KNOWN_FILE]))}
    assert known[token].placeholder and known[pat].hosts == ("api.github.com", "github.com")
    git = find(objects, "Secret", "git-gate-handover")["data"]
    assert base64.b64decode(git["ssh_forge"]) == KEY.replace(b"not a real", b"forge")
    tar = base64.b64decode(find(objects, "Secret", "agent-handover")["data"]["handover.tar"])
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    assert members["ssh/gitea"] == KEY.replace(b"not a real", b"gitea")
    env = dict(record.split(b"=", 1) for record in members[".env.part"].split(b"\0") if record)
    # The agent gets placeholders for credentials; the real values only in the gate's Secret.
    assert env[b"CLAUDE_CODE_OAUTH_TOKEN"].decode() == known[token].placeholder != token
    assert env[b"GITHUB_TOKEN"].decode() == known[pat].placeholder != pat
    assert env[b"GIT_AUTHOR_NAME"] == b"demo" and env[b"GITEA_TOKEN"] == b"typed-GITEA_TOKEN"
    everything_but_secrets = json.dumps([o for o in objects if o["kind"] != "Secret"])
    for value in (token, pat, "forge key", "gitea key"):
        assert value not in everything_but_secrets
    for document in objects:
        assert "dev.claude-bottle/fill" not in document["metadata"].get("annotations", {})


def test_prompted_values_need_a_terminal(tmp_path):
    from bottle_launcher.errors import LaunchError

    spec = manifest(tmp_path)
    with pytest.raises(LaunchError, match="must be typed in"):
        offline_bottle(spec, with_secrets=True, environ={"GH_PAT": "x" * 40, "HOME": str(tmp_path)}, prompt=_refuse)


def _refuse(request: bottle_manifest.PromptRequest) -> str:
    from bottle_launcher.errors import LaunchError

    raise LaunchError(f"bottle {request.bottle!r} env {request.key!r} must be typed in, but there is no terminal")


def test_an_agent_that_persists_keeps_its_namespace_and_volume_claims(tmp_path):
    bottle, objects = rendered(tmp_path, persist=True)
    ns = find(objects, "Namespace", namespace(bottle.runtime))
    assert BOTTLE_ID not in ns["metadata"]["name"] and "dev.claude-bottle.id" not in ns["metadata"]["labels"]
    claims = [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    assert sorted(c["spec"]["resources"]["requests"]["storage"] for c in claims) == ["10Gi", "1Gi"]
    pod = find(objects, "Pod", "agent")["spec"]
    claimed = sorted(v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v)
    assert claimed == sorted(c["metadata"]["name"] for c in claims)


def test_image_references_hash_the_build_contexts_and_take_a_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("BOTTLE_PIPELOCK_IMAGE", "ghcr.io/luckypipewrench/pipelock:2.3.0")
    data = json.loads((DATA / "kubernetes-bottle.json").read_text())
    data["bottles"]["demo-bottle"]["egress"] = {
        "backend": "pipelock",
        "allowlist": ["github.com"],
        "allow_cidrs": ["100.64.0.7/32"],
    }
    data["bottles"]["demo-bottle"]["env"] = {}
    (tmp_path / "claude-bottle.json").write_text(json.dumps(data))
    spec = bottle_manifest.load(tmp_path / "claude-bottle.json", home=tmp_path).agent("demo")
    bottle = offline_bottle(spec, registry="registry.example/team/", environ={"HOME": str(tmp_path)})
    assert set(bottle.images) == {"agent", "egress", "egress-pipelock", "ssh-gate", "git-gate"}
    for key, reference in bottle.images.items():
        assert (
            reference.startswith(f"registry.example/team/claude-bottle/{key}:") and len(reference.rsplit(":")[1]) == 16
        )
    objects = render(bottle.runtime, bottle.handover, KubeOptions(images=bottle.images))
    gate = find(objects, "Pod", "egress-gate")["spec"]["containers"][0]
    assert gate["image"] == bottle.images["egress-pipelock"]
    assert set(find(objects, "Secret", "egress-gate-handover")["data"]) == {"ca-cert.pem", "ca-key.pem"}


# -- what reaches what: NetworkPolicy semantics ---------------------------------------------------


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict[str, str]
    ip: str


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector: every matchLabels pair and every matchExpression holds ({} selects all)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        holds = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not holds:
            return False
    return True


def in_block(block: dict[str, Any], ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    network = ipaddress.ip_network(block["cidr"])
    if address.version != network.version or address not in network:
        return False
    holes = [ipaddress.ip_network(e) for e in block.get("except", [])]
    return not any(address in hole for hole in holes if hole.version == address.version)


class Cluster:
    """Pods in namespaces, and the NetworkPolicies that select them. An ipBlock is matched
    against Pods' addresses too (the stricter reading for what is denied: CNIs differ there)."""

    def __init__(self, namespaces: dict[str, dict[str, str]], pods: list[Pod], policies: list[dict[str, Any]]):
        self.namespaces, self.pods, self.policies = namespaces, {p.name: p for p in pods}, policies

    def _peer(self, peer: dict[str, Any], policy_namespace: str, other: Pod | str) -> bool:
        if "ipBlock" in peer:
            return in_block(peer["ipBlock"], other.ip if isinstance(other, Pod) else other)
        if not isinstance(other, Pod):
            return False
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], self.namespaces[other.namespace]):
                return False
        elif other.namespace != policy_namespace:
            return False
        return selects(peer.get("podSelector", {}), other.labels)

    @staticmethod
    def _port(ports: list[dict[str, Any]] | None, protocol: str, port: int) -> bool:
        if not ports:
            return True
        return any(
            p.get("protocol", "TCP") == protocol
            and ("port" not in p or p["port"] <= port <= p.get("endPort", p["port"]))
            for p in ports
        )

    def _side(self, pod: Pod, direction: str, other: Pod | str, protocol: str, port: int) -> bool:
        kind, peers = ("Egress", "to") if direction == "egress" else ("Ingress", "from")
        applying = []
        for policy in self.policies:
            spec = policy["spec"]
            types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
            if (
                policy["metadata"]["namespace"] == pod.namespace
                and kind in types
                and selects(spec["podSelector"], pod.labels)
            ):
                applying.append(policy)
        if not applying:
            return True  # a Pod no policy selects is not isolated
        return any(
            (
                not rule.get(peers)
                or any(self._peer(peer, policy["metadata"]["namespace"], other) for peer in rule[peers])
            )
            and self._port(rule.get("ports"), protocol, port)
            for policy in applying
            for rule in policy["spec"].get(direction, [])
        )

    def allows(self, source: str, target: str, port: int, protocol: str = "TCP") -> bool:
        """source and target: Pod names, or addresses outside the cluster."""
        src = self.pods.get(source, source)
        dst = self.pods.get(target, target)
        out = self._side(src, "egress", dst, protocol, port) if isinstance(src, Pod) else True
        into = self._side(dst, "ingress", src, protocol, port) if isinstance(dst, Pod) else True
        return out and into


def cluster(objects: list[dict[str, Any]]) -> Cluster:
    ns = next(o for o in objects if o["kind"] == "Namespace")
    name = ns["metadata"]["name"]
    namespaces = {
        name: {**ns["metadata"]["labels"], "kubernetes.io/metadata.name": name},
        "kube-system": {"kubernetes.io/metadata.name": "kube-system"},
        "elsewhere": {"kubernetes.io/metadata.name": "elsewhere"},
    }
    pods = [
        Pod(o["metadata"]["name"], name, o["metadata"]["labels"], f"10.244.1.{10 + i}")
        for i, o in enumerate(o for o in objects if o["kind"] == "Pod")
    ]
    agent_labels = next(p.labels for p in pods if p.name == "agent")
    pods += [
        Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, "10.244.0.5"),
        Pod("api-proxy", "kube-system", {"component": "kube-apiserver"}, "10.244.0.6"),
        # Another bottle's agent, and a Pod someone starts inside this bottle's Namespace.
        Pod("other-agent", "elsewhere", {**agent_labels, "dev.claude-bottle.id": "99999999"}, "10.244.2.10"),
        Pod("intruder", name, {"app": "intruder"}, "10.244.1.99"),
        Pod("impostor", name, {**agent_labels, "dev.claude-bottle.id": "99999999"}, "10.244.1.98"),
    ]
    return Cluster(namespaces, pods, [o for o in objects if o["kind"] == "NetworkPolicy"])


INTERNET = "93.184.216.34"


@pytest.fixture
def world(tmp_path) -> Cluster:
    _, objects = rendered(tmp_path)
    return cluster(objects)


def test_the_agent_reaches_its_gates_on_their_ports_and_dns_only(world):
    assert world.allows("agent", "egress-gate", 8888)
    assert world.allows("agent", "ssh-gate", 2201)
    assert world.allows("agent", "git-gate", 9418)
    assert world.allows("agent", "kube-dns", 53, "UDP") and world.allows("agent", "kube-dns", 53, "TCP")
    wrong = (("egress-gate", 9418), ("egress-gate", 22), ("ssh-gate", 8888), ("git-gate", 8888), ("git-gate", 22))
    for gate, port in wrong:
        assert not world.allows("agent", gate, port), (gate, port)
    assert not world.allows("agent", "kube-dns", 80)
    assert not world.allows("agent", "api-proxy", 443)
    assert not world.allows("agent", "other-agent", 8888) and not world.allows("agent", "intruder", 8888)


def test_the_agent_reaches_nothing_outside(world):
    outside = [(INTERNET, 443), (INTERNET, 80), ("1.1.1.1", 53), ("169.254.169.254", 80), ("10.0.0.1", 443)]
    for address, port in [*outside, ("100.64.0.7", 22), ("2606:4700::1111", 443)]:
        assert not world.allows("agent", address, port), (address, port)
    assert not world.allows("agent", "1.1.1.1", 53, "UDP")


def test_nothing_but_the_agent_reaches_the_bottle(world):
    for source in ("other-agent", "intruder", "impostor", "kube-dns", INTERNET, "10.0.0.1"):
        assert not world.allows(source, "agent", 22), source
        assert not world.allows(source, "egress-gate", 8888), source
        assert not world.allows(source, "git-gate", 9418), source
        assert not world.allows(source, "ssh-gate", 2201), source
    # The gates do not reach the agent, nor each other.
    for gate in ("egress-gate", "ssh-gate", "git-gate"):
        assert not world.allows(gate, "agent", 22)
        assert all(not world.allows(gate, other, 8888) for other in ("egress-gate", "git-gate") if other != gate)
    assert not world.allows("intruder", "kube-dns", 53, "UDP")  # the default deny holds a Pod nobody planned


def test_the_egress_gate_reaches_public_addresses_on_the_proxied_ports_only(world):
    assert world.allows("egress-gate", INTERNET, 443) and world.allows("egress-gate", INTERNET, 80)
    assert world.allows("egress-gate", INTERNET, 8443)  # egress.ports grants it (for registry.npmjs.org)
    assert world.allows("egress-gate", "2606:4700::1111", 443)
    assert not world.allows("egress-gate", INTERNET, 22)
    for private in ("10.0.0.5", "172.17.0.1", "192.168.1.1", "169.254.169.254", "127.0.0.1", "100.64.0.8", "fd00::1"):
        assert not world.allows("egress-gate", private, 443), private
    assert world.allows("egress-gate", "100.64.0.7", 443)  # allow_cidrs: 100.64.0.7/32 alone
    assert world.allows("egress-gate", "kube-dns", 53, "UDP")
    assert not world.allows("egress-gate", "api-proxy", 443) and not world.allows("egress-gate", "other-agent", 8888)


def test_the_ssh_and_git_gates_reach_their_upstreams_only(world):
    assert world.allows("ssh-gate", INTERNET, 30009)  # gitea.example.com: any public address, its port
    assert not world.allows("ssh-gate", INTERNET, 22) and not world.allows("ssh-gate", INTERNET, 443)
    assert not world.allows("ssh-gate", "10.0.0.5", 30009)
    assert world.allows("git-gate", "100.64.0.7", 22)  # pinned by ExtraHosts, granted by allow_cidrs
    assert not world.allows("git-gate", INTERNET, 22) and not world.allows("git-gate", "100.64.0.7", 443)
    assert not world.allows("git-gate", INTERNET, 443)


def test_without_allow_cidrs_no_gate_reaches_a_private_range(tmp_path):
    data = json.loads((DATA / "kubernetes-bottle.json").read_text())
    bottle = data["bottles"]["demo-bottle"]
    bottle["egress"].pop("allow_cidrs")
    bottle["git"][0].pop("ExtraHosts")
    (tmp_path / "claude-bottle.json").write_text(json.dumps(data))
    spec = bottle_manifest.load(tmp_path / "claude-bottle.json", home=tmp_path).agent("demo")
    built = offline_bottle(spec, bottle_id=BOTTLE_ID, environ={"HOME": str(tmp_path)})
    world = cluster(render(built.runtime, built.handover, KubeOptions(images=IMAGES)))
    for gate, port in (("egress-gate", 443), ("git-gate", 22), ("ssh-gate", 30009)):
        assert not world.allows(gate, "100.64.0.7", port)
        assert world.allows(gate, INTERNET, port)


def test_report_mode_opens_every_port_but_still_no_private_range(tmp_path):
    data = json.loads((DATA / "kubernetes-bottle.json").read_text())
    data["bottles"]["demo-bottle"]["egress"]["mode"] = "report"
    (tmp_path / "claude-bottle.json").write_text(json.dumps(data))
    spec = bottle_manifest.load(tmp_path / "claude-bottle.json", home=tmp_path).agent("demo")
    built = offline_bottle(spec, bottle_id=BOTTLE_ID, environ={"HOME": str(tmp_path)})
    world = cluster(render(built.runtime, built.handover, KubeOptions(images=IMAGES)))
    assert world.allows("egress-gate", INTERNET, 22)
    assert not world.allows("egress-gate", "10.0.0.5", 443)


# -- the command -----------------------------------------------------------------------------------


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in HOST_VARS}
    full.update({"HOME": str(cwd / "home"), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bottle_launcher", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=60
    )


def test_the_command_writes_a_stream_or_one_file_per_object(tmp_path):
    manifest(tmp_path)
    path = str(tmp_path / "project" / "claude-bottle.json")
    result = run("render", "kubernetes", "demo", "--manifest", path, "--bottle-id", BOTTLE_ID, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Rendered by `bottle-launch render kubernetes` for agent demo")
    assert result.stdout.count("\n---\n") == len(rendered(tmp_path)[1])  # the comment, then each object
    out = tmp_path / "out"
    command = ("render", "kubernetes", "demo", "--manifest", path)
    result = run(*command, "-o", str(out), "--registry", "r.example", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names[0].startswith("00-namespace-bottle-demo-") and names[-1].endswith("-pod-agent.yaml")
    for file in out.iterdir():
        private = "-secret-" in file.name
        assert stat.S_IMODE(file.stat().st_mode) == (0o600 if private else 0o644), file.name
    assert 'image: "r.example/claude-bottle/agent:' in (out / names[-1]).read_text()
    again = run(*command, "-o", str(out), cwd=tmp_path)
    assert again.returncode == 2 and "is not empty" in again.stderr
