"""Authentication through real HTTP: password flow + refresh, external OIDC tokens from a real JWKS server,
API keys (shown once, hashed, scoped, revocable), the bootstrap key, security headers, CORS, rate limits."""

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from app.security.roles import Role
from app.settings import Settings
from persistence.security_models import ApiKey, User
from tests import diagrams
from tests.conftest import LiveServer
from tests.test_api_processes import deploy

PASSWORD = "mat-khau-du-dai-123"
UNIT = "H31.SYT.02"


@pytest.fixture
def units_loaded(services):
    services.catalogue.load_shipped()
    return services


def login(http: httpx.Client, username: str, password: str) -> httpx.Response:
    return http.post("/api/v1/auth/token", data={"grant_type": "password", "username": username,
                                                 "password": password})


def test_password_flow_refresh_and_me(units_loaded, anonymous):
    units_loaded.accounts.create_user("lan", PASSWORD, Role.SPECIALIST, UNIT, "Nguyễn Thị Lan")
    tokens = login(anonymous, "lan", PASSWORD)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    me = anonymous.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me == {"subject": "lan", "role": "specialist", "unit": UNIT, "agency": "H31.SYT", "kind": "user"}
    # A refresh token is not an access token, and vice versa.
    assert anonymous.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['refresh_token']}"}
                         ).status_code == 401
    assert anonymous.post("/api/v1/auth/refresh", json={"refreshToken": body["access_token"]}).status_code == 401
    renewed = anonymous.post("/api/v1/auth/refresh", json={"refreshToken": body["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["access_token"]
    form = anonymous.post("/api/v1/auth/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": body["refresh_token"]})
    assert form.status_code == 200


def test_stored_password_is_an_argon2_hash(units_loaded):
    units_loaded.accounts.create_user("hoa", PASSWORD, Role.APPROVER, "H31.SYT")
    with units_loaded.db.read() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "hoa"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_bad_credentials_are_401_with_a_challenge(units_loaded, anonymous):
    units_loaded.accounts.create_user("lan", PASSWORD, Role.SPECIALIST, UNIT)
    for username, password in (("lan", "sai-mat-khau-roi"), ("khong-co", PASSWORD)):
        response = login(anonymous, username, password)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
        assert response.headers["www-authenticate"].startswith("Bearer")
    for header in ({"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic bGFuOnNhaQ=="},
                   {"X-API-Key": "mc_wrong"}):
        response = anonymous.get("/api/v1/auth/me", headers=header)
        assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"


def test_expired_forged_and_unsigned_tokens_are_refused(units_loaded, anonymous):
    units_loaded.accounts.create_user("lan", PASSWORD, Role.SPECIALIST, UNIT)
    secret = units_loaded.accounts.tokens.secret
    past = datetime.now(UTC) - timedelta(minutes=1)
    claims = {"iss": "motcua", "sub": "lan", "typ": "access", "role": "system_admin", "unit": UNIT}
    expired = jwt.encode({**claims, "exp": past}, secret, "HS256")
    forged = jwt.encode({**claims, "exp": past + timedelta(hours=1)}, "another-secret-of-enough-length!", "HS256")
    unsigned = jwt.encode({**claims, "exp": past + timedelta(hours=1)}, None, "none")
    for token in (expired, forged, unsigned):
        assert anonymous.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # The role comes from the user row, not from the token: a valid token cannot raise its own role.
    valid = jwt.encode({**claims, "exp": past + timedelta(hours=1)}, secret, "HS256")
    me = anonymous.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {valid}"}).json()
    assert me["role"] == "specialist"


def test_disabling_a_user_stops_their_tokens_at_once(units_loaded, anonymous):
    units_loaded.accounts.create_user("lan", PASSWORD, Role.SPECIALIST, UNIT)
    body = login(anonymous, "lan", PASSWORD).json()
    units_loaded.accounts.set_active("lan", False)
    assert anonymous.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
                         ).status_code == 401
    assert anonymous.post("/api/v1/auth/refresh", json={"refreshToken": body["refresh_token"]}).status_code == 401
    assert login(anonymous, "lan", PASSWORD).status_code == 401


def test_api_key_is_hashed_scoped_and_revocable(units_loaded, anonymous):
    new = units_loaded.accounts.create_api_key("DVCQG", Role.INTEGRATOR, scopes=["messages", "catalogue"])
    with units_loaded.db.read() as session:
        row = session.get(ApiKey, new.id)
    assert new.key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    headers = {"X-API-Key": new.key}
    assert anonymous.get("/api/v1/procedures", headers=headers).status_code == 200
    outside = anonymous.get("/api/v1/dossiers", headers=headers)
    assert outside.status_code == 403 and outside.json()["code"] == "forbidden"
    units_loaded.accounts.revoke_api_key(new.id)
    assert anonymous.get("/api/v1/procedures", headers=headers).status_code == 401


def test_x_actor_is_honoured_only_for_system_admin_keys(units_loaded, client, anonymous):
    deploy(client, ("linear.bpmn", diagrams.linear("linear", ("a",))))
    integrator = units_loaded.accounts.create_api_key("DVCQG", Role.INTEGRATOR).key
    started = anonymous.post("/api/v1/process-definitions/key/linear/start", json={},
                             headers={"X-API-Key": integrator, "X-Actor": "gia_danh"}).json()
    by_admin = client.post("/api/v1/process-definitions/key/linear/start", json={},
                           headers={"X-Actor": "can_bo_dvcqg"}).json()
    actors = {}
    for instance in (started, by_admin):
        history = client.get(f"/api/v1/process-instances/{instance['id']}/history").json()
        actors[instance["id"]] = history[0]["actor"]
    assert actors[started["id"]].startswith("apikey:mc_")
    assert actors[by_admin["id"]] == "can_bo_dvcqg"


def test_bootstrap_key_is_a_system_admin(client):
    me = client.get("/api/v1/auth/me").json()
    assert me["role"] == "system_admin" and me["kind"] == "bootstrap"


def test_security_headers_on_every_response(client, anonymous):
    for response in (client.get("/api/v1/procedures"), anonymous.get("/healthz"), anonymous.get("/api/v1/tasks")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
    assert client.get("/api/v1/procedures").headers["cache-control"] == "no-store"


def test_denials_are_logged_without_passwords_or_keys(units_loaded, anonymous, caplog):
    units_loaded.accounts.create_user("lan", PASSWORD, Role.SPECIALIST, UNIT)
    key = units_loaded.accounts.create_api_key("k", Role.INTEGRATOR).key
    with caplog.at_level(logging.DEBUG):
        login(anonymous, "lan", PASSWORD + "x")
        login(anonymous, "lan", PASSWORD)
        anonymous.get("/api/v1/dossiers", headers={"X-API-Key": key})
        anonymous.get("/api/v1/units", headers={"X-API-Key": key + "x"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "denied" in text  # denials are logged…
    assert PASSWORD not in text and key not in text  # …without the password or the key


# --- servers with their own settings ---------------------------------------------------------------

class _Jwks(BaseHTTPRequestHandler):
    document: bytes = b"{}"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args):
        pass


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    handler = type("Jwks", (_Jwks,), {"document": json.dumps({"keys": [{**public, "kid": "k1", "use": "sig",
                                                                          "alg": "RS256"}]}).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    server.shutdown()
    thread.join(timeout=5)


def _own_server(database_url: str, tmp_path, **settings) -> LiveServer:
    return LiveServer(Settings(database_url=database_url, jwt_secret="s" * 40, files_dir=str(tmp_path),
                               **settings))


def test_external_oidc_tokens_through_a_real_jwks(units_loaded, database_url, jwks_server, tmp_path):
    jwks_url, key = jwks_server
    issuer = "https://sso.haiphong.gov.vn/realms/motcua"
    with _own_server(database_url, tmp_path, oidc_issuer=issuer, oidc_jwks_url=jwks_url, oidc_audience="motcua",
                     oidc_role_claim="roles", oidc_unit_claim="unit_code") as live, \
            httpx.Client(base_url=live.url) as http:
        def token(signing_key=key, **extra) -> str:
            claims = {"iss": issuer, "aud": "motcua", "sub": "abc-123", "preferred_username": "tuan",
                      "roles": ["division_head"], "unit_code": UNIT,
                      "exp": datetime.now(UTC) + timedelta(minutes=5), **extra}
            return jwt.encode(claims, signing_key, "RS256", headers={"kid": "k1"})

        me = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token()}"})
        assert me.status_code == 200, me.text
        assert me.json() == {"subject": "tuan", "role": "division_head", "unit": UNIT, "agency": "H31.SYT",
                             "kind": "oidc"}
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for bad in (token(stranger), token(aud="other-app"), token(roles=["king"]),
                    token(exp=datetime.now(UTC) - timedelta(minutes=1))):
            assert http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {bad}"}).status_code == 401


def test_cors_allows_only_listed_origins(database_url, tmp_path):
    with _own_server(database_url, tmp_path, cors_origins=["https://motcua.haiphong.gov.vn"]) as live, \
            httpx.Client(base_url=live.url) as http:
        def preflight(origin: str) -> httpx.Response:
            return http.options("/api/v1/procedures", headers={"Origin": origin,
                                                               "Access-Control-Request-Method": "GET"})
        allowed = preflight("https://motcua.haiphong.gov.vn")
        assert allowed.headers.get("access-control-allow-origin") == "https://motcua.haiphong.gov.vn"
        assert "access-control-allow-origin" not in preflight("https://evil.example").headers


def test_public_endpoints_are_rate_limited_per_client(database_url, tmp_path):
    with _own_server(database_url, tmp_path, public_rate_per_minute=1, public_rate_burst=3,
                     bootstrap_api_key="mc_rate_test_key") as live, httpx.Client(base_url=live.url) as http:
        answers = [http.get("/api/v1/public/dossiers/H31-X", params={"idNumber": "001203004567"}).status_code
                   for _ in range(4)]
        assert answers[:3] == [404, 404, 404] and answers[3] == 429
        limited = http.get("/api/v1/public/dossiers/H31-X", params={"idNumber": "001203004567"})
        assert limited.json()["code"] == "too_many_requests" and int(limited.headers["retry-after"]) >= 1
        # Staff routes are not counted against the public bucket.
        assert http.get("/api/v1/units", headers={"X-API-Key": "mc_rate_test_key"}).status_code == 200
