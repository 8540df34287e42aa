"""Admin web pages over HTTP (both databases): catalogue editing, instances per diagram version, migrating them."""

import re

from app.security.roles import Role
from tests.onestop import install_catalogue
from tests.test_api_processes import complete
from tests.test_versions_migration import _start_on, two_versions
from tests.web import csrf_of, make_user, signed_in, submit


def _form_of(html: str) -> dict[str, str]:
    """The editable fields of the procedure form as a browser would send them (checked boxes only)."""
    fields = dict(re.findall(r'<input name="([^"]+)" value="([^"]*)"', html))
    fields.update({name: "on" for name in re.findall(r'type="checkbox" name="([^"]+)" checked', html)})
    fields["name"] = re.search(r'<textarea id="name" name="name"[^>]*>([^<]*)</textarea>', html).group(1)
    fields["legal_days"] = re.search(r'id="legal_days" name="legal_days" value="([^"]*)"', html).group(1)
    return fields


def test_catalogue_edit_saves_name_days_fees_documents_and_shows_errors_by_field(services, server):
    install_catalogue(services)
    procedure = services.catalogue.search(None, "department", 1, 0)[0]
    make_user(services, "quantri3", Role.SYSTEM_ADMIN, "H31.SYT")
    make_user(services, "kiemtra3", Role.AUDITOR, "H31.SYT")
    url = f"/ui/admin/procedures/{procedure.code}"
    with signed_in(server.url, "quantri3") as http:
        listing = http.get("/ui/admin/procedures", params={"q": procedure.name[:12]})
        assert listing.status_code == 200 and url in listing.text
        form = _form_of(http.get(url).text)
        assert form["documents.0.code"] == procedure.documents[0].code

        bad = dict(form, legal_days="0", **{"documents.1.code": "Sai Mã"})
        refused = submit(http, url, url, bad)
        assert refused.status_code == 422 and 'data-field="legal_days"' in refused.text
        assert services.catalogue.get(procedure.code) == procedure  # nothing changed
        bad_code = submit(http, url, url, dict(form, **{"documents.0.code": "Sai Mã"}))
        assert bad_code.status_code == 422 and 'data-field="documents.0.code"' in bad_code.text
        assert 'aria-describedby="err-documents.0.code"' in bad_code.text

        n = len(procedure.documents)
        edited = dict(form, name="Cấp giấy phép (sửa thử)", legal_days="12",
                      **{"fees.0.code": "phi_tham_dinh", "fees.0.name": "Phí thẩm định", "fees.0.amount": "500000",
                         f"documents.{n}.code": "giay_uy_quyen", f"documents.{n}.name": "Giấy uỷ quyền",
                         f"documents.{n}.originals": "1", f"documents.{n}.copies": "0"})
        edited.pop(f"documents.{n}.required", None)  # the new document is optional
        saved = submit(http, url, url, edited)
        assert saved.status_code == 303 and "saved=true" in saved.headers["location"]
    after = services.catalogue.get(procedure.code)
    assert after.name == "Cấp giấy phép (sửa thử)" and after.legal_days == 12
    assert [(f.code, f.amount) for f in after.fees][:1] == [("phi_tham_dinh", 500000)]
    added = after.documents[-1]
    assert (added.code, added.required) == ("giay_uy_quyen", False) and len(after.documents) == n + 1
    assert (after.sector, after.diagram_key) == (procedure.sector, procedure.diagram_key)  # not on the form
    with signed_in(server.url, "kiemtra3") as http:
        page = http.get(url)
        assert page.status_code == 200 and 'accesskey="s"' not in page.text
        assert http.post(url, data={**_form_of(page.text), "csrf_token": csrf_of(page.text)}).status_code == 403


def test_versions_page_counts_instances_and_migration_shows_the_plan_before_moving(client, services, server):
    install_catalogue(services)
    v1, v2 = two_versions(client, "web_migrated")
    movable = _start_on(client, v1)
    stuck = complete(client, _start_on(client, v1)["openTasks"][0]["id"])  # at b, which v2 removed
    make_user(services, "quantri4", Role.SYSTEM_ADMIN, "H31.SYT")
    make_user(services, "donvi4", Role.UNIT_ADMIN, "H31.SYT")
    with signed_in(server.url, "quantri4") as http:
        versions = http.get("/ui/admin/diagrams").text
        cell = re.search(r'data-testid="instances-web_migrated-1">(.*?)</td>', versions, re.S).group(1)
        assert "đang chạy: 2" in cell and f"/ui/admin/diagrams/{v1}/migrate" in cell
        assert f"/ui/admin/diagrams/{v2}/migrate" not in versions  # nothing newer to move to

        plan_url = f"/ui/admin/diagrams/{v1}/migrate?target={v2}"
        plan = http.get(plan_url)
        assert plan.status_code == 200 and 'data-testid="migration-plan"' in plan.text
        assert "Chuyển được" in plan.text and "<code>b</code>" in plan.text
        assert client.get(f"/api/v1/process-instances/{movable['id']}").json()["definitionId"] == v1
        wrong = http.get(f"/ui/admin/diagrams/{v2}/migrate", params={"target": v1})
        assert wrong.status_code == 422

        done = http.post(f"/ui/admin/diagrams/{v1}/migrate", data={"target": v2, "csrf_token": csrf_of(plan.text)})
        assert done.status_code == 200 and 'data-testid="migration-result"' in done.text and "Đã chuyển" in done.text
    assert client.get(f"/api/v1/process-instances/{movable['id']}").json()["definitionId"] == v2
    assert client.get(f"/api/v1/process-instances/{stuck['id']}").json()["definitionId"] == v1
    assert services.queries.counts_by_definition()[v2] == {"running": 1}
    with signed_in(server.url, "donvi4") as http:
        assert http.get(f"/ui/admin/diagrams/{v1}/migrate").status_code == 403
