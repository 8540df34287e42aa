"""The one authorization table: (method, route template) → who may call it.

Routes missing from the table are open to system admins only, and tests/test_authorization.py fails
until they are classified, so a new route cannot slip through unnoticed. Unit scoping (which dossier,
instance or task) is applied on top of this by api/security.py from the route's path parameters.
"""

from app.security.roles import ADMINS, STAFF, Role

PUBLIC = frozenset({"*public*"})  # no credentials needed

R = Role
EVERYONE = frozenset(STAFF | ADMINS | {R.AUDITOR, R.INTEGRATOR})
READERS = EVERYONE  # read-only views; unit-scoped roles only see their own agency's records
ACTORS = frozenset(STAFF | {R.SYSTEM_ADMIN})  # who moves dossiers and tasks forward
SYSTEMS = frozenset({R.SYSTEM_ADMIN, R.INTEGRATOR})
ADMIN_ONLY = frozenset(ADMINS)
CITYWIDE_READERS = frozenset({R.SYSTEM_ADMIN, R.AUDITOR, R.INTEGRATOR})

POLICY: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,  # says only which check failed, never secrets; probes carry no credentials
    ("GET", "/api/v1/public/dossiers/{code}"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/auth/refresh"): PUBLIC,
    ("GET", "/api/v1/auth/me"): EVERYONE,
    ("GET", "/api/v1/audit/verify"): frozenset({R.SYSTEM_ADMIN, R.AUDITOR}),
    # diagrams
    ("POST", "/api/v1/deployments"): ADMIN_ONLY,
    ("GET", "/api/v1/process-definitions"): READERS,
    ("GET", "/api/v1/process-definitions/{definition_id}"): READERS,
    ("GET", "/api/v1/process-definitions/{definition_id}/xml"): READERS,
    # raw process instances: staff work through dossiers; systems and admins may start bare processes
    ("POST", "/api/v1/process-definitions/key/{key}/start"): SYSTEMS,
    ("POST", "/api/v1/process-definitions/{definition_id}/start"): SYSTEMS,
    ("GET", "/api/v1/process-instances"): CITYWIDE_READERS,
    ("GET", "/api/v1/process-instances/{instance_id}"): READERS,
    ("GET", "/api/v1/process-instances/{instance_id}/history"): READERS,
    ("GET", "/api/v1/tasks"): READERS,
    ("GET", "/api/v1/tasks/{task_id}"): READERS,
    ("POST", "/api/v1/tasks/{task_id}/claim"): ACTORS,
    ("POST", "/api/v1/tasks/{task_id}/complete"): ACTORS,
    ("POST", "/api/v1/messages"): SYSTEMS,
    # catalogue and calendar: everyone reads, admins edit
    ("GET", "/api/v1/procedures"): READERS,
    ("GET", "/api/v1/procedures/{code}"): READERS,
    ("POST", "/api/v1/procedures"): ADMIN_ONLY,
    ("PUT", "/api/v1/procedures/{code}"): ADMIN_ONLY,
    ("GET", "/api/v1/units"): READERS,
    ("GET", "/api/v1/calendar"): READERS,
    ("GET", "/api/v1/calendar/overrides"): READERS,
    ("POST", "/api/v1/calendar/overrides"): ADMIN_ONLY,
    ("DELETE", "/api/v1/calendar/overrides/{override_id}"): ADMIN_ONLY,
    ("GET", "/api/v1/calendar/add-workdays"): READERS,
    # dossiers
    ("POST", "/api/v1/dossiers"): frozenset({R.RECEPTION_CLERK, R.ONE_STOP_HEAD, R.SYSTEM_ADMIN, R.INTEGRATOR}),
    ("GET", "/api/v1/dossiers"): READERS,
    ("GET", "/api/v1/dossiers/queues"): READERS,
    ("GET", "/api/v1/dossiers/{code}"): READERS,
    ("POST", "/api/v1/dossiers/{code}/actions/{action}"): frozenset(ACTORS | {R.INTEGRATOR}),
    ("PUT", "/api/v1/dossiers/{code}/documents/{document_code}/file"):
        frozenset({R.RECEPTION_CLERK, R.ONE_STOP_HEAD, R.SPECIALIST, R.SYSTEM_ADMIN, R.INTEGRATOR}),
    ("GET", "/api/v1/dossiers/{code}/documents/{document_code}/file"): READERS,
    ("GET", "/api/v1/dossiers/{code}/forms/{form}"): READERS,
    # diagrams drawn, versions compared; instance operations and migration are admin work
    ("GET", "/api/v1/process-definitions/{definition_id}/diagram.svg"): READERS,
    ("GET", "/api/v1/process-instances/{instance_id}/diagram.svg"): READERS,
    ("GET", "/api/v1/process-definitions/{definition_id}/diff/{other_id}"): READERS,
    ("POST", "/api/v1/process-instances/{instance_id}/suspend"): ADMIN_ONLY,
    ("POST", "/api/v1/process-instances/{instance_id}/resume"): ADMIN_ONLY,
    ("POST", "/api/v1/process-instances/{instance_id}/terminate"): ADMIN_ONLY,
    ("POST", "/api/v1/process-instances/{instance_id}/move-token"): frozenset({R.SYSTEM_ADMIN}),
    ("POST", "/api/v1/migrations/plan"): frozenset({R.SYSTEM_ADMIN}),
    ("POST", "/api/v1/migrations/execute"): frozenset({R.SYSTEM_ADMIN}),
    # background work and integrations: city-wide queues; callbacks prove themselves with an HMAC signature
    ("GET", "/api/v1/incidents"): frozenset({R.SYSTEM_ADMIN, R.AUDITOR}),
    ("POST", "/api/v1/incidents/{incident_id}/retry"): frozenset({R.SYSTEM_ADMIN}),
    ("GET", "/api/v1/outbox"): CITYWIDE_READERS,
    ("POST", "/api/v1/outbox/{message_id}/retry"): frozenset({R.SYSTEM_ADMIN}),
    ("GET", "/metrics"): CITYWIDE_READERS,
    ("POST", "/api/v1/integrations/moh/callback"): PUBLIC,
    ("POST", "/api/v1/integrations/payment/callback"): PUBLIC,
    # service quality: staff and auditors read the figures; citizens rate and read the disclosure page
    ("GET", "/api/v1/reports/service-quality"): READERS,
    ("GET", "/api/v1/reports/periodic"): READERS,
    ("POST", "/api/v1/public/dossiers/{code}/rating"): PUBLIC,
    ("GET", "/public/service-quality"): PUBLIC,
    # staff web pages (api/routes/web_*.py): the same roles as the API calls they stand for; signed-in users
    # present a session cookie there (never on /api/…), and every POST form carries a CSRF token
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/ui/lang"): PUBLIC,
    ("GET", "/ui/static/{name}"): PUBLIC,
    ("GET", "/public/lookup"): PUBLIC,
    ("POST", "/public/lookup/rating"): PUBLIC,
    ("GET", "/ui/worklist"): READERS,
    ("GET", "/ui/dossiers/{code}"): READERS,
    ("GET", "/ui/dossiers/{code}/forms/{form}"): READERS,
    ("POST", "/ui/dossiers/{code}/actions/{action}"): ACTORS,
    ("POST", "/ui/dossiers/{code}/tasks/{task_id}/complete"): ACTORS,
    ("GET", "/ui/reception"): frozenset({R.RECEPTION_CLERK, R.ONE_STOP_HEAD, R.SYSTEM_ADMIN}),
    ("POST", "/ui/reception"): frozenset({R.RECEPTION_CLERK, R.ONE_STOP_HEAD, R.SYSTEM_ADMIN}),
    ("POST", "/ui/reception/form02"): frozenset({R.RECEPTION_CLERK, R.ONE_STOP_HEAD, R.SYSTEM_ADMIN}),
    ("GET", "/ui/admin/diagrams"): frozenset(ADMIN_ONLY | {R.AUDITOR}),
    ("POST", "/ui/admin/diagrams"): ADMIN_ONLY,
    ("GET", "/ui/admin/diagrams/{definition_id}/diff/{other_id}"): frozenset(ADMIN_ONLY | {R.AUDITOR}),
    # the same roles as POST /api/v1/migrations/plan and /execute
    ("GET", "/ui/admin/diagrams/{definition_id}/migrate"): frozenset({R.SYSTEM_ADMIN}),
    ("POST", "/ui/admin/diagrams/{definition_id}/migrate"): frozenset({R.SYSTEM_ADMIN}),
    ("GET", "/ui/admin/procedures"): frozenset(ADMIN_ONLY | {R.AUDITOR}),
    ("GET", "/ui/admin/procedures/{code}"): frozenset(ADMIN_ONLY | {R.AUDITOR}),
    ("POST", "/ui/admin/procedures/{code}"): ADMIN_ONLY,
    ("GET", "/ui/admin/calendar"): frozenset(ADMIN_ONLY | {R.AUDITOR}),
    ("POST", "/ui/admin/calendar"): ADMIN_ONLY,
    ("POST", "/ui/admin/calendar/{override_id}/delete"): ADMIN_ONLY,
    ("GET", "/ui/admin/incidents"): frozenset({R.SYSTEM_ADMIN, R.AUDITOR}),
    ("POST", "/ui/admin/incidents/{incident_id}/retry"): frozenset({R.SYSTEM_ADMIN}),
    ("GET", "/ui/admin/accounts"): frozenset({R.SYSTEM_ADMIN, R.AUDITOR}),
    ("POST", "/ui/admin/accounts/users"): frozenset({R.SYSTEM_ADMIN}),
    ("POST", "/ui/admin/accounts/users/{username}/active"): frozenset({R.SYSTEM_ADMIN}),
    ("POST", "/ui/admin/accounts/keys"): frozenset({R.SYSTEM_ADMIN}),
    ("POST", "/ui/admin/accounts/keys/{key_id}/revoke"): frozenset({R.SYSTEM_ADMIN}),
}

DEFAULT = frozenset({R.SYSTEM_ADMIN})


def allowed_roles(method: str, path: str) -> frozenset[str]:
    return POLICY.get((method, path), DEFAULT)


def is_public(method: str, path: str) -> bool:
    return POLICY.get((method, path)) is PUBLIC


def is_classified(method: str, path: str) -> bool:
    return (method, path) in POLICY
