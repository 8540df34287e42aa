"""An incomplete dossier at the counter: Form 02 printed from the entered data, no dossier stored (both databases)."""

from sqlalchemy import func, select

from app.security.roles import Role
from persistence.dossier_models import Dossier
from tests.onestop import install_catalogue, procedures, units
from tests.web import make_user, signed_in, submit


def test_incomplete_dossier_prints_form_02_listing_everything_missing_and_stores_nothing(services, server, client):
    install_catalogue(services)
    own = units(client, "commune")[0]["code"]
    procedure = next(p for p in procedures(client, level="commune") if sum(d["required"] for d in p["documents"]) > 1)
    required = [d for d in procedure["documents"] if d["required"]]
    make_user(services, "tiepnhan7", Role.RECEPTION_CLERK, own)
    url = f"/ui/reception?procedure={procedure['code']}"
    data = {"procedure_code": procedure["code"], "channel": "counter", "receiving_unit": own,
            "applicant_type": "citizen", "name": "Lê Văn Cường", "id_number": "031987650000",
            "doc": [required[0]["code"]]}
    with signed_in(server.url, "tiepnhan7") as http:
        assert 'data-testid="form02"' in http.get(url).text
        form02 = submit(http, url, "/ui/reception/form02", data)
        assert form02.status_code == 200, form02.text
        assert "Mẫu số 02" in form02.text and "Lê Văn Cường" in form02.text and "chưa được tiếp nhận" in form02.text
        assert all(d["name"] in form02.text for d in required[1:])  # everything missing, in one go
        assert required[0]["name"] not in form02.text.split("những nội dung sau")[1]
        assert "script-src" not in form02.headers["content-security-policy"]

        complete = submit(http, url, "/ui/reception/form02", {**data, "doc": [d["code"] for d in required]})
        assert complete.status_code == 422 and 'data-field="documents"' in complete.text
        assert "Mẫu số 01" in complete.text  # complete: receive it instead
        nameless = submit(http, url, "/ui/reception/form02", {**data, "name": ""})
        assert nameless.status_code == 422 and 'data-field="applicant.name"' in nameless.text
        other = units(client, "commune")[1]["code"]
        elsewhere = submit(http, url, "/ui/reception/form02", {**data, "receiving_unit": other})
        assert elsewhere.status_code == 403
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Dossier)) == 0
