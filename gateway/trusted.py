"""Trusted documents: the operation documents shipped with the gateway, and their manifests."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, parse

# The repository's operation documents, trusted when GATEWAY_TRUSTED_DOCUMENTS names no other place.
QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"


def document_id(text: str) -> str:
    """A document's id: the sha256 of its exact text, in lowercase hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrustedDocument:
    """One operation document shipped with the gateway, as the manifest lists it."""

    id: str
    name: str | None
    type: str
    body: str


def read_trusted_documents(directory: Path) -> list[TrustedDocument]:
    """Every `.graphql` file of the directory, by file name, each under the sha256 of its exact text."""
    documents = []
    for path in sorted(directory.glob("*.graphql")):
        # Bytes decoded as they are: a text-mode read would turn CRLF into LF and change the hash.
        body = path.read_bytes().decode("utf-8")
        operation = next((d for d in parse(body).definitions if isinstance(d, OperationDefinitionNode)), None)
        if operation is None:
            continue
        documents.append(
            TrustedDocument(
                id=document_id(body),
                name=operation.name.value if operation.name else None,
                type=operation.operation.value,
                body=body,
            )
        )
    return documents


def apollo_manifest(documents: list[TrustedDocument]) -> dict[str, Any]:
    """Apollo's persisted-query manifest (what `generate-persisted-query-manifest` writes)."""
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [dataclasses.asdict(document) for document in documents],
    }


def relay_manifest(documents: list[TrustedDocument]) -> dict[str, str]:
    """Relay's persisted-query map: id to text."""
    return {document.id: document.body for document in documents}
