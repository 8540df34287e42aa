"""The public lookup page rates a finished dossier through the rating service (both databases), CSRF-protected."""

from app.reports.ratings import RATABLE
from tests import report_fixture
from tests.report_fixture import APPLICANT_ID
from tests.web import HTML, csrf_of


def lookup(http, code, **params):
    return http.get("/public/lookup", params={"code": code, "id_number": APPLICANT_ID, **params}, headers=HTML)


def test_rating_form_only_for_finished_dossiers_and_once(services, anonymous):
    report_fixture.load(services)
    assert "returned" in RATABLE
    open_page = lookup(anonymous, "D03")
    assert open_page.status_code == 200 and 'data-testid="rating-form"' not in open_page.text
    assert 'href="/public/service-quality"' in open_page.text and '<html lang="vi">' in open_page.text

    page = lookup(anonymous, "A04")
    assert 'data-testid="rating-form"' in page.text
    form = {"csrf_token": csrf_of(page.text), "code": "A04", "id_number": APPLICANT_ID}
    no_score = anonymous.post("/public/lookup/rating", data=form, headers=HTML)
    assert no_score.status_code == 422 and 'data-field="score"' in no_score.text
    forged = anonymous.post("/public/lookup/rating", data={**form, "csrf_token": "x", "score": "5"}, headers=HTML)
    assert forged.status_code == 403
    wrong_id = anonymous.post("/public/lookup/rating", data={**form, "id_number": "999999999", "score": "5"},
                              headers=HTML)
    assert wrong_id.status_code == 404 and "Trần Thị Bình" not in wrong_id.text

    done = anonymous.post("/public/lookup/rating", data={**form, "score": "2", "complaint": "Trễ hẹn hai ngày"},
                          headers=HTML, follow_redirects=False)
    assert done.status_code == 303 and "rated=true" in done.headers["location"]
    thanks = anonymous.get(done.headers["location"], headers=HTML)
    assert 'data-testid="rated"' in thanks.text and 'data-testid="rating-form"' not in thanks.text

    again = anonymous.post("/public/lookup/rating", data={**form, "score": "5"}, headers=HTML)
    assert again.status_code == 409 and "đã được đánh giá" in again.text


def test_rating_without_score_changes_nothing(services, anonymous, client):
    report_fixture.load(services)
    page = lookup(anonymous, "A04")
    anonymous.post("/public/lookup/rating", data={"csrf_token": csrf_of(page.text), "code": "A04",
                                                  "id_number": APPLICANT_ID, "score": "9"}, headers=HTML)
    # the API still accepts the first rating: nothing was stored by the refused form
    first = client.post("/api/v1/public/dossiers/A04/rating", json={"idNumber": APPLICANT_ID, "score": 4})
    assert first.status_code == 201, first.text
