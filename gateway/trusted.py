"""Trusted documents: the operation documents shipped with the gateway, and their manifests."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

# The repository's operation documents, trusted when GATEWAY_TRUSTED_DOCUMENTS names no other place.
QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"


class TrustedDocumentsError(ValueError):
    """A trusted-documents source that cannot be read: the message names the file and what is wrong."""


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


# Each app start reads the same files again (every replica's app, every test's): a document's text
# decides its entry, so a text is parsed once per process.
@functools.lru_cache(maxsize=1024)
def trusted_document(body: str, where: str) -> TrustedDocument | None:
    """The document under the sha256 of its text, named and typed by its first operation (None for a
    file of fragments only); `where` names it in the error a document that does not parse gets."""
    try:
        definitions = parse(body).definitions
    except GraphQLSyntaxError as exc:
        raise TrustedDocumentsError(f"{where}: not a GraphQL document ({exc.message})") from None
    operation = next((d for d in definitions if isinstance(d, OperationDefinitionNode)), None)
    if operation is None:
        return None
    return TrustedDocument(
        id=document_id(body),
        name=operation.name.value if operation.name else None,
        type=operation.operation.value,
        body=body,
    )


def read_trusted_documents(directory: Path) -> list[TrustedDocument]:
    """Every `.graphql` file of the directory, by file name, each under the sha256 of its exact text."""
    documents = []
    for path in sorted(directory.glob("*.graphql")):
        # Bytes decoded as they are: a text-mode read would turn CRLF into LF and change the hash.
        document = trusted_document(path.read_bytes().decode("utf-8"), str(path))
        if document is not None:
            documents.append(document)
    return documents


def read_manifest(path: Path) -> list[TrustedDocument]:
    """The operations of a persisted-query manifest: Apollo's (`generate-persisted-query-manifest`) or
    Relay's `{id: text}` map. Every id must be the sha256 of its text, the id clients send as APQ hash
    and `documentId` alike; a manifest built with another hash is refused, not half-trusted."""
    try:
        manifest = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise TrustedDocumentsError(f"{path}: not JSON ({exc})") from None
    if isinstance(manifest, Mapping) and manifest.get("format") == "apollo-persisted-query-manifest":
        if manifest.get("version") != 1:
            raise TrustedDocumentsError(f"{path}: only version 1 of Apollo's manifest format is read")
        operations = manifest.get("operations")
        if not isinstance(operations, list):
            raise TrustedDocumentsError(f"{path}: `operations` must be a list")
        entries = [_apollo_entry(path, index, operation) for index, operation in enumerate(operations)]
    elif isinstance(manifest, Mapping) and all(isinstance(v, str) for v in manifest.values()):
        entries = [(str(key), text) for key, text in manifest.items()]
    else:
        raise TrustedDocumentsError(
            f"{path}: neither an Apollo persisted-query manifest nor a Relay {{id: text}} map"
        )
    documents = []
    for given, body in entries:
        if given.removeprefix("sha256:").lower() != document_id(body):
            raise TrustedDocumentsError(
                f"{path}: operation {given!r}: the id is not the sha256 of its body; "
                "build the manifest with sha256 ids"
            )
        document = trusted_document(body, f"{path}: operation {given!r}")
        if document is not None:
            documents.append(document)
    return documents


def _apollo_entry(path: Path, index: int, operation: object) -> tuple[str, str]:
    if not isinstance(operation, Mapping):
        raise TrustedDocumentsError(f"{path}: operations[{index}] must be an object")
    given, body = operation.get("id"), operation.get("body")
    if not isinstance(given, str) or not isinstance(body, str):
        raise TrustedDocumentsError(f"{path}: operations[{index}] needs a string `id` and `body`")
    return given, body


def load_trusted_documents(sources: Iterable[Path]) -> list[TrustedDocument]:
    """The documents of every source in order (a directory of `.graphql` files or a manifest file),
    each id once."""
    found: dict[str, TrustedDocument] = {}
    for source in sources:
        if source.is_dir():
            documents = read_trusted_documents(source)
        elif source.is_file():
            documents = read_manifest(source)
        else:
            raise TrustedDocumentsError(f"{source}: no such directory or manifest file")
        for document in documents:
            found.setdefault(document.id, document)
    return list(found.values())


def trusted_sources(configured: Iterable[str]) -> list[Path]:
    """Where the trusted documents come from: the sources GATEWAY_TRUSTED_DOCUMENTS lists, else the
    source tree's queries/ (absent from an installed package, which then trusts nothing by default)."""
    sources = [Path(source) for source in configured]
    if sources:
        return sources
    return [QUERIES_DIR] if QUERIES_DIR.is_dir() else []


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
