"""Console security: sign-in and roles, CSRF, escaping, cookies, no-auth mode."""
from billing.v1 import invoice_pb2, numbering_pb2, reseller_pb2
from conftest import ADMIN, AUDITOR, SWITCH, console_page, write_controls
from helpers import reseller


def test_pages_need_sign_in(console):
    response = console.get("/resellers", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")


def test_admin_signs_in_and_sees_write_buttons(admin, api):
    api.resellers.UpsertReseller(reseller())
    page = admin.get("/resellers")
    assert page.status_code == 200
    assert "Create Reseller" in page.text and "Sign out" in page.text and ">admin<" in page.text


def test_switch_token_is_refused_at_sign_in(console):
    response = console.sign_in(SWITCH)
    assert response.status_code == 403 and "switch" in response.text
    assert console.get("/resellers", follow_redirects=False).status_code == 303  # still signed out


def test_unknown_token_is_refused(console):
    response = console.sign_in("not-a-known-token-at-all")
    assert response.status_code == 403 and "not known" in response.text


def test_auditor_sees_no_write_buttons(auditor, admin, api):
    api.resellers.UpsertReseller(reseller())
    admin.post("/resellers/r1/invoices/new", {"start": "2026-03-01", "end": "2026-03-31", "action": "save",
                                              "request_id": "x1"})
    invoice_id = api.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(min_position=0)).invoices[0].invoice_id
    for path in ("/resellers", "/resellers/r1/details", "/resellers/r1/invoices?create=1", f"/invoices/{invoice_id}",
                 "/settings/customize", "/settings/options", "/seller", "/audit"):
        page = auditor.get(path)
        assert page.status_code == 200, path
        assert write_controls(page.text) == [], path  # no POST form, no write button (labels are fine)
        assert write_controls(admin.get(path).text) or path == "/audit", path  # the check does see them
    assert "read-only" in auditor.get("/resellers").text
    assert "View Invoice" in auditor.get("/resellers/r1/invoices").text  # reads stay available
    assert auditor.get(f"/invoices/{invoice_id}/pdf").content.startswith(b"%PDF")


def test_auditor_write_post_is_refused_and_changes_nothing(auditor, api):
    api.resellers.UpsertReseller(reseller())
    before = api.numbering.GetNumbering(numbering_pb2.GetNumberingRequest())
    for path, form in (("/resellers/new", {"reseller_id": "r2", "name": "X", "currency": "EUR", "time_zone": "UTC",
                                           "tax_rate": "0"}),
                       ("/resellers/r1/edit", {"name": "Renamed", "currency": "EUR", "time_zone": "UTC", "tax_rate": "0"}),
                       ("/resellers/r1/invoices/new", {"start": "2026-03-01", "end": "2026-03-31", "action": "save"}),
                       ("/settings/options/numbering", {"pattern": "A-%num%", "start": ""}),
                       ("/seller", {"name": "Evil"})):
        response = auditor.post(path, form)
        assert response.status_code == 403, path
        assert "read-only" in response.text
    assert auditor.get("/resellers/new").status_code == 403
    assert api.resellers.GetReseller(reseller_request("r1")).name == "Zürich Telecom"
    assert not api.resellers.ListResellers(list_request()).resellers[1:]
    after = api.numbering.GetNumbering(numbering_pb2.GetNumberingRequest())
    assert after.pattern == before.pattern


def test_post_without_valid_csrf_is_refused_and_changes_nothing(admin, api):
    form = {"reseller_id": "r9", "name": "Nine", "currency": "EUR", "time_zone": "UTC", "tax_rate": "0.1"}
    for csrf in (False, "forged-value"):
        response = admin.post("/resellers/new", form, csrf=csrf)
        assert response.status_code == 403 and "CSRF" in response.text
    assert not api.resellers.ListResellers(list_request()).resellers
    assert admin.post("/signout", csrf=False).status_code == 403  # sign-out too
    assert admin.get("/resellers").status_code == 200  # still signed in


def test_csrf_value_of_another_session_is_refused(admin, grpc_server, api):
    other = console_page(grpc_server.port)
    other.sign_in(ADMIN)
    response = admin.post("/resellers/new", {"reseller_id": "r9", "name": "N", "currency": "EUR", "time_zone": "UTC",
                                             "tax_rate": "0"}, csrf=other.csrf)
    assert response.status_code == 403
    assert not api.resellers.ListResellers(list_request()).resellers


def test_user_data_is_html_escaped(admin, api):
    api.resellers.UpsertReseller(reseller(name="<script>alert(1)</script>", address_lines=['"><img src=x onerror=1>']))
    for path in ("/resellers", "/resellers/r1/details", "/resellers/r1/invoices"):
        text = admin.get(path).text
        assert "<script>alert(1)" not in text and "<img src=x" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path


def test_sign_out_ends_the_session(admin, grpc_server):
    cookie = dict(admin.client.cookies)
    response = admin.post("/signout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert admin.get("/resellers", follow_redirects=False).status_code == 303
    admin.client.cookies.clear()
    admin.client.cookies.update(cookie)  # a copy of the old cookie no longer works either
    assert admin.get("/resellers", follow_redirects=False).status_code == 303


def test_session_cookie_flags(grpc_server):
    page = console_page(grpc_server.port)
    cookie = page.get("/signin").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    page = console_page(grpc_server.port, tls_cert="cert.pem", tls_key="key.pem")
    cookie = page.get("/signin").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie


def test_tampered_cookie_is_a_fresh_session(admin):
    admin.client.cookies.set("billing_console", admin.client.cookies["billing_console"][:-2] + "xx")
    assert admin.get("/resellers", follow_redirects=False).status_code == 303


def test_security_headers_on_pages(admin):
    headers = admin.get("/resellers").headers
    assert "script-src" not in headers["content-security-policy"] or "'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"


def test_without_tokens_file_there_is_no_sign_in_and_everyone_is_admin(open_grpc_server):
    page = console_page(open_grpc_server.port, auth=False)
    response = page.get("/resellers")
    assert response.status_code == 200 and "Create Reseller" in response.text and "Sign out" not in response.text
    assert page.get("/signin", follow_redirects=False).status_code == 303
    page.get("/resellers/new")
    created = page.post("/resellers/new", {"reseller_id": "o1", "name": "Open", "currency": "EUR", "time_zone": "UTC",
                                           "tax_rate": "0"})
    assert created.status_code == 200 and "Open" in created.text
    assert page.post("/resellers/new", {"reseller_id": "o2", "name": "X", "currency": "EUR", "time_zone": "UTC",
                                        "tax_rate": "0"}, csrf=False).status_code == 403  # CSRF still checked


def test_revoked_token_signs_the_user_out(grpc_server, tmp_path, tokens_file):
    page = console_page(grpc_server.port)
    page.sign_in(AUDITOR)
    open(tokens_file, "w").write(f"{ADMIN} admin\n")
    grpc_server.edge.reload_tokens()
    response = page.get("/resellers", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"


def reseller_request(rid):
    return reseller_pb2.GetResellerRequest(reseller_id=rid)


def list_request():
    return reseller_pb2.ListResellersRequest()
