"""A bottle as Kubernetes objects, from the RuntimePlan the Docker backend applies: plain dicts,
in the order `kubectl apply` should create them (docs/kubernetes.md).

    Namespace            the bottle's own (Pod Security "restricted")
    NetworkPolicies      default deny; the agent to its gates and DNS; each gate from the agent,
                         to DNS and what the manifest grants (_policies.py)
    ConfigMaps           the files the plan writes: the agent's, the bottle CA's certificate,
                         each gate's config folder (_files.py)
    Secrets              each gate's handover, and the agent's (never mounted in its Pod) (_secrets.py)
    PersistentVolumeClaims   an agent that persists: its working folder and ~/.claude
    Services             one per gate, named as the agent knows it (_services.py)
    Pods                 one per gate, then the agent (_pods.py)

The policies come before any Pod, so nothing runs unfenced. Nothing here reads a file, the
environment or a cluster: the values come in with `Handover` (render._offline)."""

from __future__ import annotations

from typing import Any

from bottle_contract.egress import KNOWN_FILE, MITMPROXY_CA_FILE, PIPELOCK_CA_CERT_FILE, PIPELOCK_CA_KEY_FILE

from ...plan import LABEL, RuntimePlan, Secrets
from .._offline import Handover
from . import _files, _pods, _secrets
from ._meta import AGENT_POD, KubeOptions, metadata, namespace, pod_name, slug
from ._output import file_name, files, header, stream
from ._policies import policies
from ._services import service

# What each handover file holds, for the annotation that says how to fill a Secret.
_WHAT = {
    MITMPROXY_CA_FILE: "the bottle CA's key and certificate, PEM (mitmproxy's confdir file)",
    KNOWN_FILE: "the bottle's known secrets, a JSON list (bottle_contract.egress.KnownSecret)",
    PIPELOCK_CA_CERT_FILE: "the bottle CA's certificate, PEM",
    PIPELOCK_CA_KEY_FILE: "the bottle CA's key, PEM",
}
POD_SECURITY = {"pod-security.kubernetes.io/enforce": "restricted"}


def _namespace_object(runtime: RuntimePlan, name: str) -> dict[str, Any]:
    # An agent that persists keeps its Namespace, as it keeps its volumes: no bottle id on it.
    persisted = [volume for volume in runtime.volumes if volume.persistent]
    labels = {**persisted[0].labels, f"{LABEL}.role": "namespace"} if persisted else runtime.labels("namespace")
    data = metadata(name, None, labels)
    data["labels"].update(POD_SECURITY)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": data}


def render(runtime: RuntimePlan, handover: Handover, options: KubeOptions) -> list[dict[str, Any]]:
    """Every object of one bottle. `handover`: its run-time values, or
    their names only (then each Secret is empty and says how to fill it)."""
    ns = namespace(runtime)
    objects: list[dict[str, Any]] = [_namespace_object(runtime, ns)]
    objects += policies(runtime, ns, options)

    agent = runtime.agent
    files = _files.agent_files(agent.files)
    objects.append(_files.config_map(_pods.AGENT_FILES, ns, agent.labels, files.contents))
    ca_fill = None
    if not handover.values:
        ca_fill = (
            f"kubectl -n {ns} create configmap {_files.CA_CONFIG_MAP} --from-file={_files.CA_KEY}=<the CA certificate "
            "whose key the egress gate's Secret holds> --dry-run=client -o yaml | kubectl apply -f -"
        )
    objects.append(
        _files.config_map(
            _files.CA_CONFIG_MAP,
            ns,
            agent.labels,
            {_files.CA_KEY: handover.ca_cert},
            {_secrets.FILL_ANNOTATION: ca_fill} if ca_fill else None,
        )
    )
    gate_mounts = {}
    for spec in runtime.sidecars:
        maps, mounts = _files.gate_config(pod_name(spec.role, spec.hostname), ns, spec.labels, spec.files)
        objects += maps
        gate_mounts[spec.name] = mounts

    gate_items: dict[str, list[tuple[str, str]]] = {}
    for spec in runtime.sidecars:
        if not spec.handover:
            continue
        name = f"{pod_name(spec.role, spec.hostname)}-handover"
        given = handover.secrets.get(spec.role, Secrets())
        contents, items = _secrets.gate_items(given.files)
        what = {
            path: _WHAT.get(path, f"the private key of {spec.role} entry {path.rsplit('/', 1)[-1]!r}")
            for path in given.files
        }
        fill = None if handover.values else _secrets.gate_fill(name, ns, items, what)
        objects.append(_secrets.secret(name, ns, spec.labels, contents, fill))
        gate_items[spec.name] = items
    agent_secrets = handover.secrets.get("agent", Secrets())
    objects.append(
        _secrets.secret(
            _secrets.AGENT_HANDOVER,
            ns,
            agent.labels,
            {_secrets.AGENT_HANDOVER_KEY: _secrets.agent_handover_tar(agent_secrets) if handover.values else b""},
            None if handover.values else _secrets.agent_fill(agent_secrets),
        )
    )

    objects += _pods.persistent_claims(runtime, ns, options)
    objects += [service(runtime, spec, ns) for spec in runtime.sidecars if spec.ports]
    objects += [
        _pods.gate_pod(runtime, spec, ns, options, gate_mounts[spec.name], gate_items.get(spec.name))
        for spec in runtime.sidecars
    ]
    objects.append(_pods.agent_pod(runtime, ns, options, files))
    return objects


__all__ = ["AGENT_POD", "KubeOptions", "file_name", "files", "header", "namespace", "render", "slug", "stream"]
