"""The operator API: keys, entries, import and export, and the closed expert loop."""

import json

from advisor.catalog import Catalog

NEW_ENTRY = {
    "id": "agri-solar-dryer", "domain": "agriculture", "topic": "harvest_storage",
    "questions": {"en": ["How do I build a solar dryer for my crops?"], "sw": ["Nitajengaje kikaushio cha jua?"]},
    "answers": {"en": "Ask your extension officer for a plan of a simple solar dryer; keep produce off the ground.",
                "sw": "Muulize afisa ugani mchoro wa kikaushio rahisi cha jua; usiweke mazao chini."},
    "source": "FAO, post-harvest management guides",
}


def at_post(server, at_id, text, sender="+254711000222"):
    return server.client.post(f"/sms/africastalking/{server.at_secret}", data={
        "from": sender, "to": "40123", "text": text, "date": "2026-12-04 09:26:53", "id": at_id})


def test_unauthenticated_or_wrong_keys_get_401_and_change_nothing(start_server):
    server = start_server()
    server.runtime.store.add_operator("wanjiru")
    for headers in ({}, {"X-API-Key": "ush_wrong"}):
        assert server.client.get("/api/entries", headers=headers).status_code == 401
        assert server.client.post("/api/entries", json=NEW_ENTRY, headers=headers).status_code == 401
        assert server.client.delete("/api/entries/agri-pest-fall-armyworm-control", headers=headers).status_code == 401
    assert not server.runtime.advisor.kb.store.exists("agri-solar-dryer")
    assert server.runtime.advisor.kb.store.exists("agri-pest-fall-armyworm-control")
    assert all(len(h) == 64 and not h.startswith("ush_") for _, h in server.runtime.store.operator_hashes())


def test_entries_create_update_publish_export_import_delete(start_server, tmp_path):
    server = start_server()
    key = {"X-API-Key": server.runtime.store.add_operator("wanjiru")}
    api = server.client
    assert api.post("/api/entries", json=NEW_ENTRY, headers=key).json() == {"id": "agri-solar-dryer", "action": "added", "version": 1}
    assert api.post("/api/entries", json=NEW_ENTRY, headers=key).status_code == 409
    changed = {**NEW_ENTRY, "status": "draft", "answers": {**NEW_ENTRY["answers"], "en": NEW_ENTRY["answers"]["en"] + " Turn it daily."}}
    assert api.put("/api/entries/agri-solar-dryer", json=changed, headers=key).json()["version"] == 2
    assert api.get("/api/entries/agri-solar-dryer", headers=key).json()["status"] == "draft"
    assert api.post("/api/entries/agri-solar-dryer/publish", headers=key).json()["action"] == "updated"
    assert api.get("/api/entries", params={"topic": "harvest_storage"}, headers=key).status_code == 200
    bad = api.post("/api/entries", json={**NEW_ENTRY, "id": "x-1", "topic": "astrology"}, headers=key)
    assert bad.status_code == 422 and "topic" in bad.json()["detail"]
    exported = api.get("/api/export", headers=key).text.splitlines()
    assert len(exported) == 183 and any(json.loads(line)["id"] == "agri-solar-dryer" for line in exported)
    line = json.dumps({**NEW_ENTRY, "id": "agri-solar-dryer-2"})
    assert api.post("/api/import", content=line + "\n", headers=key).json()["added"] == 1
    broken = api.post("/api/import", content=line + "\n{oops\n", headers=key)
    assert broken.status_code == 422 and "body:2" in broken.json()["detail"]
    assert api.post("/api/reindex", headers=key).status_code == 200
    assert api.delete("/api/entries/agri-solar-dryer-2", headers=key).json()["action"] == "deleted"
    assert api.get("/api/entries/agri-solar-dryer-2", headers=key).status_code == 404
    assert api.get("/openapi.json").json()["paths"]["/api/unanswered/{item_id}/answer"]
    assert api.get("/docs").status_code == 200


def test_the_expert_loop_answers_the_person_on_their_channel(start_server):
    server = start_server()
    key = {"X-API-Key": server.runtime.store.add_operator("daktari")}
    at_post(server, "q-1", "quantum chromodynamics lattice gauge theory")
    server.drain()
    assert server.at.sent[-1]["message"] == Catalog().get("no_match", "en")
    [item] = server.client.get("/api/unanswered", headers=key).json()
    assert item["user_key"] == "africastalking:+254711000222" and item["channel"] == "sms"
    body = {"text": "Goats do not need physics: give clean water, shade and good fodder.",
            "save_as_entry": {**NEW_ENTRY, "id": "agri-goat-basics", "topic": "livestock"}}
    done = server.client.post(f"/api/unanswered/{item['id']}/answer", json=body, headers=key)
    assert done.status_code == 200 and done.json()["entry"]["action"] == "added"
    server.drain()
    assert server.at.sent[-1] == {"message": Catalog().get("expert_answer", "en") + "\n" + body["text"],
                                  "recipients": ["+254711000222"], "sender_id": "40123"}
    assert server.client.post(f"/api/unanswered/{item['id']}/answer", json=body, headers=key).status_code == 409
    assert server.client.get("/api/unanswered", headers=key).json() == []
    answered = server.client.get("/api/unanswered", params={"status": "answered"}, headers=key).json()
    assert answered[0]["answered_by"] == "daktari"
    assert server.runtime.advisor.kb.store.exists("agri-goat-basics")
    assert server.client.post("/api/unanswered/999/answer", json=body, headers=key).status_code == 404


def test_feedback_list(start_server):
    server = start_server()
    key = {"X-API-Key": server.runtime.store.add_operator("ops")}
    server.runtime.store.add_feedback(1, "telegram:1", "down")
    assert server.client.get("/api/feedback", headers=key).json()[0]["value"] == "down"
