"""The operator API under /api, authenticated by API keys (`ushauri operators add NAME`).

Keys are stored as SHA-256 hashes and compared in constant time; a missing or wrong key gets 401
and changes nothing. Answering an unanswered question sends the answer to that person on their
own channel through the outbox, and can save it as a new knowledge-base entry.
"""

from __future__ import annotations

import hmac
import io
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from knowledge.entry import EntryProblem, entry_from_dict
from knowledge.errors import BadInputError, ImportFileError, NotFoundError
from knowledge.formats import write_entries

from .dispatch import split_user_key
from .store import key_hash

API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="an operator key from `ushauri operators add`")


def operator(request: Request, key: str | None = Depends(API_KEY)) -> str:
    store = request.app.state.runtime.store
    if key:
        given = key_hash(key)
        for name, stored in store.operator_hashes():
            if hmac.compare_digest(given, stored):
                return name
    raise HTTPException(401, "a valid X-API-Key header is needed", headers={"WWW-Authenticate": "API-Key"})


router = APIRouter(prefix="/api", tags=["operators"], dependencies=[Depends(operator)])


def kb(request: Request):
    return request.app.state.runtime.advisor.kb


def bad(exc: Exception) -> HTTPException:
    if isinstance(exc, NotFoundError):
        return HTTPException(404, str(exc))
    return HTTPException(422, str(exc))


@router.get("/entries", summary="List entries")
async def list_entries(request: Request, domain: str | None = None, topic: str | None = None,
                       status: str | None = Query(None, pattern="^(draft|published)$")) -> list[dict]:
    return [e.to_dict() for e in kb(request).store.entries(domain=domain, topic=topic, status=status)]


@router.get("/entries/{entry_id}", summary="Read one entry")
async def read_entry(entry_id: str, request: Request) -> dict:
    try:
        return kb(request).store.get(entry_id).to_dict()
    except NotFoundError as exc:
        raise bad(exc) from None


async def save(request: Request, data: dict, must_exist: bool | None) -> dict:
    base = kb(request)
    try:
        entry = entry_from_dict(data, base.settings.languages, base.taxonomy)
    except (EntryProblem, BadInputError) as exc:
        field = getattr(exc, "field", None)
        raise HTTPException(422, f"{field}: {exc}" if field else str(exc)) from None
    exists = base.store.exists(entry.id)
    if must_exist is True and not exists:
        raise HTTPException(404, f"no entry with id '{entry.id}'")
    if must_exist is False and exists:
        raise HTTPException(409, f"entry '{entry.id}' exists already; PUT /api/entries/{entry.id} updates it")
    action = await run_in_threadpool(base.save, entry)
    return {"id": entry.id, "action": action, "version": base.store.get(entry.id).version}


@router.post("/entries", status_code=201, summary="Create an entry")
async def create_entry(data: dict, request: Request) -> dict:
    return await save(request, data, must_exist=False)


@router.put("/entries/{entry_id}", summary="Update an entry (a new version)")
async def update_entry(entry_id: str, data: dict, request: Request) -> dict:
    if data.get("id", entry_id) != entry_id:
        raise HTTPException(422, "id: does not match the URL")
    return await save(request, {**data, "id": entry_id}, must_exist=True)


@router.post("/entries/{entry_id}/publish", summary="Publish a draft")
async def publish_entry(entry_id: str, request: Request) -> dict:
    try:
        return {"id": entry_id, "action": await run_in_threadpool(kb(request).set_status, entry_id, "published")}
    except NotFoundError as exc:
        raise bad(exc) from None


@router.delete("/entries/{entry_id}", summary="Delete an entry")
async def delete_entry(entry_id: str, request: Request) -> dict:
    try:
        entry = await run_in_threadpool(kb(request).delete, entry_id)
    except NotFoundError as exc:
        raise bad(exc) from None
    return {"id": entry.id, "action": "deleted"}


@router.post("/import", summary="Import entries (JSONL body; all or nothing)")
async def import_entries(request: Request) -> dict:
    body = await request.body()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "import.jsonl"
        path.write_bytes(body)
        try:
            return await run_in_threadpool(kb(request).import_files, [path])
        except (ImportFileError, BadInputError) as exc:
            raise HTTPException(422, str(exc).replace(str(path), "body")) from None


@router.get("/export", response_class=PlainTextResponse, summary="Export every entry (JSONL)")
async def export_entries(request: Request) -> PlainTextResponse:
    out = io.StringIO()
    write_entries(kb(request).store.entries(), "jsonl", out)
    return PlainTextResponse(out.getvalue(), media_type="application/x-ndjson")


@router.post("/reindex", summary="Bring the search index up to date")
async def reindex(request: Request, full: bool = False) -> dict:
    return await run_in_threadpool(kb(request).reindex, full)


@router.get("/unanswered", summary="Questions the bot could not answer")
async def unanswered(request: Request, status: str = Query("open", pattern="^(open|answered|all)$")) -> list[dict]:
    queue = request.app.state.runtime.advisor.unanswered
    return queue.items(None if status == "all" else status, limit=500)


class Answer(BaseModel):
    text: str = Field(min_length=1, max_length=2000, description="the answer, sent to the person as written")
    save_as_entry: dict | None = Field(None, description="optional: a knowledge-base entry to create from it")


@router.post("/unanswered/{item_id}/answer", summary="Answer a question: send it to the person, optionally save it")
async def answer(item_id: int, body: Answer, request: Request, name: str = Depends(operator)) -> dict:
    runtime = request.app.state.runtime
    queue = runtime.advisor.unanswered
    item = queue.get(item_id)
    if item is None:
        raise HTTPException(404, f"no unanswered question {item_id}")
    if item["status"] != "open":
        raise HTTPException(409, f"question {item_id} was answered already")
    saved = await save(request, body.save_as_entry, must_exist=None) if body.save_as_entry else None
    provider, address = split_user_key(item["user_key"])
    intro = runtime.advisor.catalog.get("expert_answer", item["language"])
    ids = runtime.store.complete(None, [(provider, item["user_key"], address, f"{intro}\n{body.text}", {})])
    queue.close(item_id, name, body.text)
    runtime.worker.wake()
    return {"id": item_id, "outbox": ids, "entry": saved}


@router.get("/feedback", summary="Feedback people gave on answers")
async def feedback(request: Request) -> list[dict]:
    return request.app.state.runtime.store.feedback()
