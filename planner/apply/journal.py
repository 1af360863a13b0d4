"""The apply journal: what apply (or rollback) did, step by step, with before- and after-images.

One JSON file per run, ``state/journal/<UTC timestamp>.json``, rewritten atomically
(:func:`planner.fileio.write_text_atomic`) whenever an entry changes: before a write (status
``started``, with the before-image) and after it (``done`` with the after-image, or ``failed``
with the error). A crash therefore leaves a complete, parseable file whose last ``started`` entry
says which change may be half-done.

Images (``kind`` says which):

- ``security_descriptor``: the whole DACL-only ``nTSecurityDescriptor`` as base64 (+ SDDL for
  people). The after-image is the descriptor *re-read* after the write — what the DC stored,
  which is what rollback compares with (the DC recomputes inherited ACEs, so the bytes sent are
  not necessarily the bytes kept).
- ``absent`` (before a create), ``object`` (after: objectGUID, uSNChanged and the planned
  attributes as read back).
- ``attributes``: the listed attributes' values (``[]`` = no value).
- ``membership``: group DN, member DN and whether the member was in it.
- ``tenant``: a tenant change (value, Graph's whole object before, the id of a created object).

No secret is ever in a journal: directory data, URLs and the bind user's name only.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict

from planner.errors import JournalError
from planner.fileio import BadFileError, first_problem, read_json, write_text_atomic
from planner.observe.live import now_iso

JOURNAL_FORMAT = "wbplan-journal"
JOURNAL_VERSION = 1

Status = Literal["pending", "started", "done", "failed", "unknown", "skipped", "blocked", "manual"]
"""``pending`` not reached yet (or not started because the run was stopped); ``started`` write
sent, outcome not recorded (a crash); ``done``; ``failed`` (``error`` says why: the DC or
Graph refused, nothing was changed); ``unknown`` the reply to a write was lost — the change
may or may not have been made (rollback reads the object to decide); ``skipped`` a
prerequisite failed; ``blocked`` a manual step (or a deferred prerequisite) comes first;
``manual`` a person must act."""


class _Mutable(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class JournalEntry(_Mutable):
    """One change of the plan (or one restore of a rollback)."""

    seq: int
    address: str
    type: str
    action: str
    """``create`` / ``update`` / ``delete`` / ``manual``; ``restore`` in a rollback journal."""
    dn: str | None = None
    status: Status = "pending"
    before_image: dict[str, Any] | None = None
    after_image: dict[str, Any] | None = None
    error: str | None = None
    note: str | None = None
    """e.g. which failed change a skipped one waited for, or a manual step's instructions."""
    depends_on: list[str] = []
    started: str | None = None
    finished: str | None = None
    planned: dict[str, Any] | None = None
    """The plan's change as it was approved (``before``/``after``): rollback checks that the
    entry's DN and images agree with it and only undoes that change."""
    warnings: list[str] = []
    """What a person must check (a concurrent change a DC without compare-and-swap may have
    overwritten)."""


class JournalDoc(_Mutable):
    """The whole file."""

    format: Literal["wbplan-journal"] = "wbplan-journal"
    format_version: int = JOURNAL_VERSION
    operation: Literal["apply", "rollback"]
    wbplan_version: str
    started: str
    finished: str | None = None
    outcome: Literal["running", "complete", "failed", "refused", "aborted", "interrupted"] = (
        "running"
    )
    """``interrupted``: a stop was requested (SIGTERM/SIGINT); the running step finished and
    the steps not started are ``pending``. ``aborted``: an error ended the run mid-way."""
    lock_id: str | None = None
    lineage: dict[str, Any] = {}
    """Forest, forest GUID and tenant id the run worked on."""
    plan: dict[str, Any] = {}
    """Apply: the plan's digest, policy name/digest and timestamp. Rollback: empty."""
    rolls_back: str | None = None
    """Rollback: the journal it restores."""
    sources: dict[str, str | None] = {}
    """LDAP and Graph URLs (never credentials)."""
    entries: list[JournalEntry] = []
    anchor: str | None = None
    """Apply: the DN of AD's record of what this journal may undo (:mod:`planner.apply.anchor`)."""
    signature: str | None = None
    """HMAC of everything else when ``WBPLAN_PLAN_KEY`` is set (:mod:`planner.signing`)."""


def new_journal_path(directory: Path, *, suffix: str = "") -> Path:
    """``<directory>/<YYYYmmddTHHMMSSZ><suffix>.json``, never an existing file's name."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = directory / f"{stamp}{suffix}.json"
    n = 1
    while candidate.exists():
        n += 1
        candidate = directory / f"{stamp}{suffix}-{n}.json"
    return candidate


class Journal:
    """A journal file being written: change entries, then :meth:`save` (atomic)."""

    def __init__(self, path: Path, doc: JournalDoc) -> None:
        self.path = path
        self.doc = doc

    @property
    def entries(self) -> list[JournalEntry]:
        return self.doc.entries

    def save(self) -> None:
        """Rewrite the whole file atomically (signed when a signing key is configured)."""
        from planner.signing import sign_journal

        sign_journal(self.doc)
        text = json.dumps(self.doc.model_dump(mode="json"), indent=2, sort_keys=False)
        write_text_atomic(self.path, text + "\n")

    def update(self, entry: JournalEntry, **changes: Any) -> None:
        """Change ``entry`` and save at once (the journal is flushed per step)."""
        for key, value in changes.items():
            setattr(entry, key, value)
        self.save()

    def finish(
        self, outcome: Literal["complete", "failed", "refused", "aborted", "interrupted"]
    ) -> None:
        self.doc.outcome = outcome
        self.doc.finished = now_iso()
        self.save()


def load_journal(path: Path) -> JournalDoc:
    """Read and validate a journal file (bounded: see :mod:`planner.fileio`), including every
    security descriptor it records, so a damaged journal is refused naming the file and the
    entry before rollback reads or writes anything."""
    hint = "journals are written by `wbplan apply` under state/journal/"
    try:
        raw = read_json(path)
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from exc
    except BadFileError as exc:
        raise JournalError(
            f"{path} is not a wbplan journal ({exc.problem}{exc.at()})", hint=hint
        ) from exc
    if not isinstance(raw, dict) or raw.get("format") != JOURNAL_FORMAT:
        raise JournalError(f"{path} is not a wbplan journal", hint=hint)
    if raw.get("format_version") != JOURNAL_VERSION:
        raise JournalError(
            f"{path} has journal format {raw.get('format_version')}; this wbplan reads {JOURNAL_VERSION}",
            hint="roll it back with the wbplan version that wrote it",
        )
    try:
        doc = JournalDoc.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise JournalError(
            f"{path} does not match the journal format: "
            f"{first_problem(exc.errors(), exc.error_count())}",
            hint="a journal must not be edited by hand",
        ) from exc
    for entry in doc.entries:
        for name in ("before_image", "after_image"):
            problem = _image_problem(getattr(entry, name))
            if problem:
                raise JournalError(
                    f"{path}: entry {entry.seq} ({entry.address}): the {name.replace('_', '-')} "
                    f"{problem}",
                    hint="a journal must not be edited by hand; restore by hand from a good copy",
                )
    return doc


_IMAGE_KEYS = {"security_descriptor": ("sd_base64",), "membership": ("group_dn", "member_dn")}
"""Keys rollback reads from an image of each kind (strings)."""


def _looks_like_descriptor(data: bytes) -> bool:
    """A self-relative security descriptor (MS-DTYP 2.4.6): revision 1, the SE_SELF_RELATIVE
    control bit, and owner/group/SACL/DACL offsets that are 0 or inside the data (winacl
    parses many byte strings that are none)."""
    if len(data) < 20 or data[0] != 1 or not int.from_bytes(data[2:4], "little") & 0x8000:
        return False
    offsets = (int.from_bytes(data[i : i + 4], "little") for i in (4, 8, 12, 16))
    return all(o == 0 or 20 <= o < len(data) for o in offsets)


def _image_problem(image: dict[str, Any] | None) -> str | None:
    """Why a recorded image cannot be used by rollback, or None: a key its kind needs is
    missing, or a security descriptor (``sd_base64``, at any depth) is not base64 of one."""
    import base64
    import binascii

    from planner.observe.sd import parse_descriptor

    if image is None:
        return None
    for key in _IMAGE_KEYS.get(str(image.get("kind")), ()):
        if not isinstance(image.get(key), str):
            return f"({image.get('kind')}) lacks {key}"
    stack: list[Any] = [image]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        if "sd_base64" not in node:
            continue
        value = node["sd_base64"]
        if not isinstance(value, str):
            return "has an sd_base64 that is not a string"
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            return f"has an sd_base64 that is not valid base64 ({exc})"
        if not _looks_like_descriptor(data):
            return "has an sd_base64 that is not a security descriptor"
        try:
            parse_descriptor(data)
        except Exception:  # winacl raises anything (AttributeError, …) on damaged bytes
            return "has an sd_base64 that is not a security descriptor"
    return None
