from __future__ import annotations

from typing import Any

from ._models import ManifestFile

SCHEMA_ID = "https://claude-bottle.dev/schema/claude-bottle.schema.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one manifest file, for editors (`"$schema": ...`) and other tools."""
    schema = ManifestFile.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
