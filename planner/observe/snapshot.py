"""Snapshots: an ``ObservedState`` saved as JSON (``wbplan refresh --out``) and read back
(``--state FILE``).

The file is exactly the model serialised, so a snapshot and a live read are interchangeable.
A file the model refuses is explained against ``schemas/state.schema.json``, so a hand-edited
file gets a message naming the JSON path that is wrong instead of a pydantic trace.

Both directions have a fast path for the common case, because ``check --incremental`` reads and
writes the whole snapshot (8 MB at 20,000 users) to change a few marks:

* reading validates the file's bytes with pydantic's own JSON parser
  (``model_validate_json``: no intermediate ``dict``/``list`` tree, no second walk), once the
  cheap byte scans show that none of :mod:`planner.fileio`'s bounds could apply; anything that
  parser or the model refuses — and any file those scans flag — goes through the full path
  (bounded JSON parse, model, JSON Schema), which gives the same result or error as before;
* writing keeps the canonical text byte for byte (``json.dumps(indent=2, sort_keys=True)``,
  ASCII only) but builds it from C and Rust encoders (:mod:`planner.jsontext`) instead of
  ``json``'s pure-Python indenting encoder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pydantic

from planner.errors import StateFileError
from planner.fileio import (
    MAX_INT_DIGITS,
    MAX_JSON_BYTES,
    BadFileError,
    decode_utf8,
    first_problem,
    parse_json,
    read_bytes_bounded,
    write_text_atomic,
)
from planner.jsontext import canonical_model_json
from planner.model.state import ObservedState, Source
from planner.schemas import validate_document


def dump_state(state: ObservedState) -> str:
    """Canonical JSON text of a state: sorted keys, two-space indent, ASCII only (``\\uXXXX``
    escapes), trailing newline — exactly ``json.dumps(data, indent=2, sort_keys=True)``, built
    by :func:`planner.jsontext.canonical_model_json`."""
    return canonical_model_json(state)


def save_state(state: ObservedState, path: Path) -> None:
    """Write atomically so a crash never leaves half a snapshot."""
    write_text_atomic(path, dump_state(state))


def parse_state(data: Any, source: str) -> ObservedState:
    """Validate ``data`` (parsed JSON) and build the model; errors name ``source``."""
    if isinstance(data, dict) and data.get("format_version") == 1:
        raise StateFileError(
            f"{source} is a format 1 snapshot, written before wbplan read every object's DACL "
            "in scope: it cannot say whether the connector holds its rights on each object",
            hint="write a fresh one with `wbplan refresh --out FILE`",
        )
    # The model is the schema's source (schemas/state.schema.json is generated from it): what it
    # accepts is what the schema describes, give or take pydantic's lax coercions (a number
    # written as a string), which yield the same state. JSON Schema validation, slow on a
    # snapshot of 100,000 objects, runs only to explain a document the model refuses.
    try:
        return ObservedState.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = validate_document("state", data)
        if problems:
            # the first problem on the error's own line; up to 19 more below it
            shown = [" ".join(p.split())[:300] for p in problems[:20]]
            more = "".join(f"\n  {p}" for p in shown[1:])
            rest = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise StateFileError(
                f"{source} is not a valid wbplan snapshot: {shown[0]}{rest}{more}",
                hint="write a fresh one with `wbplan refresh --out FILE`",
            ) from exc
        # schema and model disagree (a bug), or a value no schema can describe
        raise StateFileError(
            f"{source} is not a valid wbplan snapshot: "
            f"{first_problem(exc.errors(), exc.error_count())}",
            hint="write a fresh one with `wbplan refresh --out FILE`",
        ) from exc


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * (MAX_INT_DIGITS + 1)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _fast_path_applies(data: bytes) -> bool:
    """Whether none of the bounds :func:`planner.fileio.parse_json` enforces beyond the
    model's own could concern ``data``: no run of more than ``MAX_INT_DIGITS`` digits
    (anywhere, strings included: a false alarm only costs the full path), no ``\\uD800``-
    ``\\uDFFF`` escape. Nesting needs no scan: the model's types nest far less deeply than
    ``MAX_JSON_DEPTH``, and pydantic's parser stops at its own recursion limit."""
    return _LONG_NUMBER not in data.translate(_DIGITS_AS_ZERO) and not _SURROGATE_ESCAPE.search(
        data
    )


def read_snapshot_bytes(path: Path) -> bytes:
    """A snapshot file's bytes (bounded: see :mod:`planner.fileio`); a ``StateFileError``
    naming the file when it cannot be read or is too large."""
    try:
        return read_bytes_bounded(path, MAX_JSON_BYTES)
    except OSError as exc:
        raise StateFileError(
            f"cannot read snapshot {path}: {exc.strerror or exc}",
            hint="check the path given to --state",
        ) from exc
    except BadFileError as exc:
        raise _bad_file(path, exc) from exc


def _bad_file(path: Path, exc: BadFileError) -> StateFileError:
    """The error for a snapshot file that is too large or not valid UTF-8/JSON, at its
    position."""
    return StateFileError(
        exc.located(str(path)), hint="write a fresh one with `wbplan refresh --out FILE`"
    )


def load_state(path: Path, raw: bytes | None = None) -> ObservedState:
    """Read a snapshot file (bounded: see :mod:`planner.fileio`), or parse ``raw``, its bytes
    already read; every problem is a ``StateFileError`` naming the file."""
    if raw is None:
        raw = read_snapshot_bytes(path)
    try:
        text = decode_utf8(raw)
    except BadFileError as exc:
        raise _bad_file(path, exc) from exc
    if _fast_path_applies(raw):
        try:
            return ObservedState.model_validate_json(raw)
        except pydantic.ValidationError:
            pass  # explained (or, for a lax coercion only Python mode makes, accepted) below
    try:
        data = parse_json(text)
    except BadFileError as exc:
        raise _bad_file(path, exc) from exc
    return parse_state(data, str(path))


def with_tenant_of(
    ad_state: ObservedState, ad_label: str, tenant_state: ObservedState, tenant_label: str
) -> ObservedState:
    """AD from ``ad_state`` (a snapshot or a live read, ``ad_label``), the tenant from
    ``tenant_state`` (``--state-tenant``, ``tenant_label``): the tenant's verdicts (how fresh the
    last directory sync is, how recently a Cloud Sync job succeeded) are judged as of the
    tenant's reading, so the combined observation is dated by it. How AD was read
    (``source.ad_read``: full or incremental, and why) stays AD's."""
    return ad_state.model_copy(
        update={
            "tenant": tenant_state.tenant,
            "observed_at": tenant_state.observed_at,
            "source": Source(
                ldap_url=ad_state.source.ldap_url,
                graph_url=tenant_state.source.graph_url,
                description=f"AD: {ad_label} ({ad_state.observed_at}); tenant: {tenant_label} "
                f"({tenant_state.observed_at})",
                ad_read=ad_state.source.ad_read,
            ),
        }
    )
