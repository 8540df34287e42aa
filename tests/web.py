"""Helpers for the web page tests: staff users, a signed-in httpx client, the CSRF token of a page."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from app.container import Services

PASSWORD = "mat-khau-thu-nghiem-1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"Accept": "text/html"}


def make_user(services: Services, username: str, role: str, unit: str) -> str:
    services.accounts.create_user(username, PASSWORD, role, unit, full_name=f"Cán bộ {username}")
    return username


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@contextmanager
def signed_in(base_url: str, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30, headers=HTML) as http:
        form = http.get("/login")
        assert form.status_code == 200, form.text
        response = http.post("/login", data={"username": username, "password": password,
                                             "csrf_token": csrf_of(form.text), "next": "/ui/worklist"})
        assert response.status_code == 303, response.text
        yield http


def submit(http: httpx.Client, page_url: str, action: str, data: dict, files: dict | None = None) -> httpx.Response:
    """POST a form of `page_url` the way a browser would: with the page's CSRF token."""
    page = http.get(page_url)
    assert page.status_code == 200, page.text
    return http.post(action, data={**data, "csrf_token": csrf_of(page.text)}, files=files)
