"""Optional signing of plan files and apply journals with a shared key (HMAC-SHA256).

Where ``plan`` and ``apply`` run in different CI jobs, the plan file travels as an artifact
that anybody with write access to the pipeline could replace. With ``WBPLAN_PLAN_KEY`` (the key
itself) or ``WBPLAN_PLAN_KEY_FILE`` (a file holding it) set, ``plan -out`` signs the file and
``apply`` refuses an unsigned or mis-signed one; ``apply`` signs its journal the same way and
``rollback`` refuses a journal whose signature does not verify. Without a key nothing is signed
and nothing is required (the plain checksum still catches accidents, not intent).

The key is a secret: it is read from the environment or a file only, never printed or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.errors import JournalError, PlanFileError, UsageError

if TYPE_CHECKING:
    from planner.apply.journal import JournalDoc

KEY_ENV = "WBPLAN_PLAN_KEY"
KEY_FILE_ENV = "WBPLAN_PLAN_KEY_FILE"
PREFIX = "hmac-sha256:"
MIN_KEY_BYTES = 16


def signing_key() -> bytes | None:
    """The shared key, or None when signing is not configured."""
    text = os.environ.get(KEY_ENV)
    path = os.environ.get(KEY_FILE_ENV)
    if text is None and path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"{KEY_FILE_ENV} names {path}, which cannot be read as text ({exc.__class__.__name__})",
                hint="point it at a readable UTF-8 file holding the signing key",
            ) from None
    if text is None:
        return None
    key = text.strip().encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(
            f"the plan signing key ({KEY_ENV} / {KEY_FILE_ENV}) is shorter than {MIN_KEY_BYTES} bytes",
            hint="use a random key, e.g. `openssl rand -hex 32`",
        )
    return key


def _digest(key: bytes, body: Any) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return PREFIX + hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_document(body: dict[str, Any]) -> str | None:
    """The signature of ``body`` (a JSON-able mapping without its ``signature``), or None."""
    key = signing_key()
    return None if key is None else _digest(key, body)


def verify_plan_document(doc: dict[str, Any], path: Path) -> None:
    """With a key configured, the plan file ``doc`` must carry a valid signature."""
    key = signing_key()
    if key is None:
        return
    signature = doc.get("signature")
    if not isinstance(signature, str):
        raise PlanFileError(
            f"{path} is not signed, and {KEY_ENV} requires signed plans",
            hint=f"create the plan with `wbplan plan -out FILE` where {KEY_ENV} is set",
        )
    body = {k: v for k, v in doc.items() if k != "signature"}
    if not hmac.compare_digest(signature, _digest(key, body)):
        raise PlanFileError(
            f"{path} has a signature that does not verify with the configured key: it was "
            "modified, or signed with another key",
            hint="never edit a saved plan; create a new one with `wbplan plan -out FILE`",
        )


def journal_body(doc: JournalDoc) -> dict[str, Any]:
    body = doc.model_dump(mode="json")
    body.pop("signature", None)
    return body


def sign_journal(doc: JournalDoc) -> None:
    """Set ``doc.signature`` (or clear it when no key is configured)."""
    key = signing_key()
    doc.signature = None if key is None else _digest(key, journal_body(doc))


def verify_journal(doc: JournalDoc) -> None:
    """With a key configured, the journal must carry a valid signature."""
    key = signing_key()
    if key is None:
        return
    if doc.signature is None:
        raise JournalError(
            f"the journal is not signed, and {KEY_ENV} requires signed journals",
            hint="roll back a journal written by an apply that had the key, or restore by hand",
        )
    if not hmac.compare_digest(doc.signature, _digest(key, journal_body(doc))):
        raise JournalError(
            "the journal's signature does not verify with the configured key: it was edited, "
            "or written with another key",
            hint="rollback refuses an edited journal; restore by hand from a trusted copy",
        )
