"""The rendering as text: one YAML stream, or one file per object, in the order they apply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import _yaml
from ._meta import slug


def header(agent: str, bottle: str, bottle_id: str, namespace: str, images: Mapping[str, str], values: bool) -> str:
    lines = [
        f"Rendered by `bottle-launch render kubernetes` for agent {agent} (bottle {bottle}, id {bottle_id}),",
        f"in Namespace {namespace}. Apply in this order (docs/kubernetes.md). Images to push first:",
        *(f"  {key}: {reference}" for key, reference in sorted(images.items())),
    ]
    if values:
        lines.append("The Secrets hold this bottle's secret values: keep this output as you keep them.")
    else:
        lines.append("The Secrets and ConfigMap egress-ca hold no values: fill each as its")
        lines.append("dev.claude-bottle/fill annotation says, or render with --with-secrets.")
    return "\n".join(lines)


def stream(objects: Sequence[Mapping[str, Any]], comment: str = "") -> str:
    return _yaml.dump_all(objects, comment)


def file_name(index: int, document: Mapping[str, Any]) -> str:
    """`03-networkpolicy-agent.yaml`: numbered, so `kubectl apply -f FOLDER` keeps the order."""
    return f"{index:02d}-{document['kind'].lower()}-{slug(document['metadata']['name'])}.yaml"


def files(objects: Sequence[Mapping[str, Any]], comment: str = "") -> list[tuple[str, str, bool]]:
    """(file name, text, whether it is a Secret) for each object; the header is the first one's."""
    return [
        (
            file_name(index, document),
            _yaml.dump_all([document], comment if index == 0 else ""),
            document["kind"] == "Secret",
        )
        for index, document in enumerate(objects)
    ]
