"""Authorization: every route is classified, and the matrix route × role × own/other unit holds.

The matrix is generated from the application's own routes, so a route added later is exercised too
(and test_every_route_has_a_policy_entry fails until it is classified).
"""

import logging
import re
from datetime import date

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import event, func, select

from api.main import create_app
from app.security import access, policy
from app.security.principal import Principal
from app.security.roles import ROLES, UNIT_SCOPED, Role, roles_for_group
from app.settings import Settings
from persistence.models import HumanTask, ProcessInstance
from persistence.security_models import AuditEvent
from tests.conftest import LiveServer
from tests.onestop import install_catalogue, procedures, receive, reception_body, units


def api_routes(app) -> list[tuple[str, str, str]]:
    """(method, served path, the path the authorization check sees) of every API route.

    FastAPI ≥0.16x keeps included routers as `_IncludedRouter` entries; older ones flatten them.
    """
    out = set()
    for route in app.routes:
        if isinstance(route, APIRoute):
            out |= {(m, route.path, route.path) for m in route.methods}
        elif hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                if isinstance(ctx.original_route, APIRoute):
                    out |= {(m, ctx.path, ctx.original_route.path) for m in ctx.original_route.methods}
    return sorted(out)


ALL = api_routes(create_app(Settings(database_url="sqlite://")))
ROUTES = [(m, p) for m, p, _ in ALL]


def test_routes_are_found():
    assert len(ROUTES) >= 38
    # The check sees the route's own template: a prefix added at include time would hide it from the policy.
    assert all(served == seen for _, served, seen in ALL), [a for a in ALL if a[1] != a[2]]


def test_every_route_has_a_policy_entry():
    unclassified = [f"{m} {p}" for m, p in ROUTES if not policy.is_classified(m, p)]
    assert not unclassified, f"add these routes to app/security/policy.py POLICY: {unclassified}"


def test_policy_names_only_existing_routes_and_known_roles():
    stale = [key for key in policy.POLICY if key not in ROUTES]
    assert not stale, f"policy entries without a route: {stale}"
    for roles in policy.POLICY.values():
        assert roles is policy.PUBLIC or roles <= ROLES


def test_unclassified_route_is_for_system_admins_only(database_url, client_as, tmp_path):
    settings = Settings(database_url=database_url, jwt_secret="x" * 32, files_dir=str(tmp_path))
    live = LiveServer(settings)
    live.app.add_api_route("/api/v1/not-yet-classified", lambda: {"ok": True}, methods=["GET"])
    with live:
        admin_key = live.services.accounts.create_api_key("a", Role.SYSTEM_ADMIN).key
        clerk_key = live.services.accounts.create_api_key("c", Role.INTEGRATOR).key
        with httpx.Client(base_url=live.url) as http:
            assert http.get("/api/v1/not-yet-classified").status_code == 401
            denied = http.get("/api/v1/not-yet-classified", headers={"X-API-Key": clerk_key})
            assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
            assert http.get("/api/v1/not-yet-classified", headers={"X-API-Key": admin_key}).json() == {"ok": True}


# --- the matrix ----------------------------------------------------------------------------------------

@pytest.fixture
def world(services, client):
    """Two communes with a dossier each; the callers all belong to the first."""
    install_catalogue(services)
    procedure = procedures(client, level="commune")[0]
    own_unit, other_unit = [u["code"] for u in units(client, "commune")[:2]]
    own = receive(client, reception_body(procedure, own_unit))
    other = receive(client, reception_body(procedure, other_unit))
    tasks = {}
    for name, dossier in (("own", own), ("other", other)):
        open_tasks = client.get("/api/v1/tasks", params={"processInstanceId": dossier["processInstanceId"]}).json()
        tasks[name] = open_tasks[0]
    definition = client.get("/api/v1/process-definitions").json()[0]["id"]
    return {"units": {"own": own_unit, "other": other_unit}, "dossiers": {"own": own, "other": other},
            "tasks": tasks, "definition": definition}


def _request(world: dict, variant: str, method: str, path: str) -> tuple[str, dict, bytes | None]:
    dossier, task = world["dossiers"][variant], world["tasks"][variant]
    values = {"code": dossier["code"], "task_id": task["id"], "instance_id": dossier["processInstanceId"],
              "definition_id": world["definition"], "override_id": "999999", "action": "refuse",
              "document_code": "x", "form": "01", "key": "x"}
    url = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)
    query: dict = {}
    if path == "/api/v1/tasks":
        query["processInstanceId"] = dossier["processInstanceId"]
    if path in ("/api/v1/dossiers", "/api/v1/dossiers/queues"):
        query["unit"] = world["units"][variant]
    # Bodies that pass authorization but fail validation, so an allowed call changes nothing.
    body = None
    if method in ("POST", "PUT"):
        body = b'{"receivingUnit": "%s"}' % world["units"][variant].encode() if path == "/api/v1/dossiers" \
            else b"[]"
    return url, query, body


def _expected(world: dict, variant: str, method: str, path: str, role: str) -> bool:
    if policy.is_public(method, path):
        return True
    if role not in policy.allowed_roles(method, path):
        return False
    scoped = role in UNIT_SCOPED
    names = set(re.findall(r"\{(\w+)\}", path))
    unit_bound = (bool(names & {"task_id", "instance_id"})
                  or ("code" in names and path.startswith(("/api/v1/dossiers/", "/ui/dossiers/")))
                  or path in ("/api/v1/tasks", "/api/v1/dossiers", "/api/v1/dossiers/queues"))
    if scoped and variant == "other" and unit_bound:
        return False
    if "task_id" in names and method != "GET" and role != Role.SYSTEM_ADMIN:
        groups = world["tasks"][variant]["candidateGroups"]
        return not groups or any(role in roles_for_group(g) for g in groups)
    return True


def test_authorization_matrix(world, client_as):
    callers = {role: client_as(role, world["units"]["own"]) for role in sorted(ROLES)}
    checked = {"allowed": 0, "denied": 0}
    failures = []
    for method, path in ROUTES:
        for role, http in callers.items():
            for variant in ("own", "other"):
                url, query, body = _request(world, variant, method, path)
                headers = {"content-type": "application/json"} if body is not None else {}
                response = http.request(method, url, params=query, content=body, headers=headers)
                allowed = _expected(world, variant, method, path, role)
                # a signed callback's own refusal (bad_signature) is past the policy: the route was reached
                refused_by_policy = response.status_code == 403 or (
                    response.status_code == 401 and response.json().get("code") != "bad_signature")
                if allowed and refused_by_policy:
                    failures.append(f"{method} {path} {role} {variant}: expected allowed, got {response.status_code}"
                                    f" {response.text[:160]}")
                elif not allowed and (response.status_code != 403 or response.json().get("code") != "forbidden"):
                    failures.append(f"{method} {path} {role} {variant}: expected 403, got {response.status_code}")
                checked["allowed" if allowed else "denied"] += 1
    assert not failures, "\n".join(failures[:40])
    # Every route × 10 roles × 2 units was asserted; print the counts for the report.
    assert sum(checked.values()) == len(ROUTES) * len(ROLES) * 2
    print(f"authorization matrix: {len(ROUTES)} routes, {checked}")


def test_anonymous_calls_get_401_with_a_challenge(world, anonymous):
    for method, path in ROUTES:
        if policy.is_public(method, path):
            continue
        url, query, body = _request(world, "own", method, path)
        response = anonymous.request(method, url, params=query, content=body)
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"] == "application/problem+json"


def test_staff_worklist_shows_only_their_agency(world, client_as):
    clerk = client_as(Role.RECEPTION_CLERK, world["units"]["own"])
    codes = {d["code"] for d in clerk.get("/api/v1/dossiers").json()}
    assert codes == {world["dossiers"]["own"]["code"]}
    assert clerk.get(f"/api/v1/dossiers/{world['dossiers']['other']['code']}").status_code == 403
    counts = clerk.get("/api/v1/dossiers/queues").json()
    assert sum(counts.values()) >= 1


def test_task_completion_needs_matching_group_and_unit(world, client_as):
    task = world["tasks"]["own"]
    group = task["candidateGroups"][0]
    right_role = next(iter(roles_for_group(group)))
    wrong_role = Role.RECORDS_CLERK if right_role != Role.RECORDS_CLERK else Role.APPROVER
    wrong = client_as(wrong_role, world["units"]["own"]).post(f"/api/v1/tasks/{task['id']}/complete", json={})
    assert wrong.status_code == 403 and wrong.json()["code"] == "forbidden"
    elsewhere = client_as(right_role, world["units"]["other"]).post(f"/api/v1/tasks/{task['id']}/complete", json={})
    assert elsewhere.status_code == 403
    done = client_as(right_role, world["units"]["own"]).post(f"/api/v1/tasks/{task['id']}/complete", json={})
    assert done.status_code == 200, done.text
    history = client_as(Role.AUDITOR).get(f"/api/v1/process-instances/{task['processInstanceId']}/history").json()
    completed = [h for h in history if h["type"] == "task.completed"]
    assert completed[-1]["actor"].startswith("apikey:")  # the authenticated principal, not a header


def test_completion_is_scoped_inside_its_command_and_a_refusal_writes_nothing(world, client_as, services, caplog):
    """Completions are scoped on the rows their command locks (access.check_in_command), not by a read before."""
    task, code = world["tasks"]["own"], world["dossiers"]["own"]["code"]
    right_role = next(iter(roles_for_group(task["candidateGroups"][0])))
    elsewhere = client_as(right_role, world["units"]["other"])
    with services.db.read() as session:
        before = _footprint(session, task["processInstanceId"])
    with caplog.at_level(logging.WARNING, logger="motcua.security"):
        refused = elsewhere.post(f"/api/v1/tasks/{task['id']}/complete", json={"variables": {}})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden", refused.text
    assert any("denied completion" in r.getMessage() and task["id"] in r.getMessage() for r in caplog.records)
    # With an Idempotency-Key the scoping runs before the command (a stored answer is replayed without it).
    keyed = elsewhere.post(f"/api/v1/tasks/{task['id']}/complete", json={}, headers={"Idempotency-Key": "k-12345678"})
    assert keyed.status_code == 403
    with services.db.read() as session:
        assert _footprint(session, task["processInstanceId"]) == before  # nothing written, not even audit
    status = client_as(Role.AUDITOR).get(f"/api/v1/dossiers/{code}").json()["status"]
    done = client_as(right_role, world["units"]["own"]).post(f"/api/v1/tasks/{task['id']}/complete", json={})
    assert done.status_code == 200, done.text
    services.audit.chain()
    with services.db.read() as session:
        row = session.scalars(select(AuditEvent).where(AuditEvent.action == "POST /api/v1/tasks/{task_id}/complete")
                              .order_by(AuditEvent.id.desc())).first()
    assert (row.target, row.before_status, row.role) == (f"dossier:{code}", status, right_role)


def test_a_dossier_step_completion_reads_its_dossier_once(world, client_as, services):
    """The scoping, the dossier tracker and the audit row share one read of the dossier (and no read precedes the
    command's lock): the statements a completion costs are what the hot path is tuned against."""
    task = world["tasks"]["own"]
    right_role = next(iter(roles_for_group(task["candidateGroups"][0])))
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(services.db.engine, "before_cursor_execute", record)
    try:
        done = client_as(right_role, world["units"]["own"]).post(f"/api/v1/tasks/{task['id']}/complete", json={})
    finally:
        event.remove(services.db.engine, "before_cursor_execute", record)
    assert done.status_code == 200, done.text
    dossier_reads = [s for s in seen if s.startswith("SELECT") and " FROM dossiers " in s]
    assert len(dossier_reads) == 1, seen
    # The command's lock is the first read of the task's rows (the caller's unit may be read before, to sign in).
    first = next(s for s in seen if s.startswith("SELECT") and ("process_instances" in s or "human_tasks" in s))
    assert " FROM process_instances " in first, first
    assert services.db.dialect == "sqlite" or "FOR UPDATE" in first, first


def _footprint(session, instance_id: str) -> tuple:
    return (session.scalar(select(ProcessInstance.version).where(ProcessInstance.id == instance_id)),
            session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open")),
            session.scalar(select(func.count()).select_from(AuditEvent)))


def test_a_scoping_left_for_a_command_that_never_ran_commits_nothing(services):
    """The safety net: a write transaction must not commit while a completion's scoping it was given is undone."""
    who = Principal(subject="lan", role=Role.SPECIALIST, unit="H31.X", kind="user")
    token = access.pending_check.set(access.CommandCheck(who, "no-such-task"))
    try:
        with pytest.raises(RuntimeError, match="never ran"):
            services.calendar.add_override(date(2026, 12, 31), "day-off", "Nghỉ thử", None, actor="lan")
    finally:
        access.pending_check.reset(token)
    assert services.calendar.overrides() == []


def test_assignee_may_complete_whatever_the_group(world, client, client_as, services):
    task = world["tasks"]["own"]
    holder = client_as(Role.APPROVER, world["units"]["own"])
    me = holder.get("/api/v1/auth/me").json()["subject"]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", json={"assignee": me}).status_code == 200
    assert holder.post(f"/api/v1/tasks/{task['id']}/complete", json={}).status_code == 200


def test_auditor_is_read_only(world, client_as):
    auditor = client_as(Role.AUDITOR)
    assert auditor.get(f"/api/v1/dossiers/{world['dossiers']['other']['code']}").status_code == 200
    refused = auditor.post(f"/api/v1/dossiers/{world['dossiers']['own']['code']}/actions/withdraw",
                           json={"reason": "thử"})
    assert refused.status_code == 403
    assert auditor.get("/api/v1/audit/verify").json()["ok"] is True


def test_only_admins_change_catalogue_calendar_and_diagrams(world, client_as):
    specialist = client_as(Role.SPECIALIST, world["units"]["own"])
    override = {"date": "2026-12-30", "kind": "day-off", "reason": "Nghỉ bù thử nghiệm"}
    assert specialist.post("/api/v1/calendar/overrides", json=override).status_code == 403
    assert specialist.post("/api/v1/deployments", files={"file": ("a.bpmn", b"<x/>")}).status_code == 403
    admin = client_as(Role.UNIT_ADMIN, world["units"]["own"])
    assert admin.post("/api/v1/calendar/overrides", json=override).status_code == 201


def test_claiming_is_for_oneself_unless_a_head_assigns(world, client_as):
    task = world["tasks"]["own"]  # the division head's "assign" step
    own_unit = world["units"]["own"]
    head = client_as(Role.DIVISION_HEAD, own_unit)
    me = head.get("/api/v1/auth/me").json()["subject"]
    other_head = client_as(Role.DIVISION_HEAD, world["units"]["other"])
    assert other_head.post(f"/api/v1/tasks/{task['id']}/claim", json={"assignee": "ai_do"}).status_code == 403
    specialist = client_as(Role.SPECIALIST, own_unit)
    for_someone = specialist.post(f"/api/v1/tasks/{task['id']}/claim", json={"assignee": me})
    assert for_someone.status_code == 403 and for_someone.json()["code"] == "forbidden"
    helper = specialist.get("/api/v1/auth/me").json()["subject"]
    handed = head.post(f"/api/v1/tasks/{task['id']}/claim", json={"assignee": helper})
    assert handed.status_code == 200 and handed.json()["assignee"] == helper
    # Now the specialist's step, whatever its group; the head no longer holds it.
    assert client_as(Role.SPECIALIST, own_unit).post(f"/api/v1/tasks/{task['id']}/complete",
                                                      json={}).status_code == 403
    assert specialist.post(f"/api/v1/tasks/{task['id']}/complete", json={}).status_code == 200
