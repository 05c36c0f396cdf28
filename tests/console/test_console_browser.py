"""The console in a real browser (Debian chromium, headless, via selenium): the operator's seed flow.

Marked slow: CI runs them, plain `make test` does not. A missing browser is a failure, not a skip.
Screenshots of every main screen go to a pytest tmp folder and to bench/out/console/ (git-ignored).
"""
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import grpc
import httpx
import pytest

from billing.v1 import invoice_pb2, reseller_pb2
from conftest import ADMIN, AUDITOR, Token, start_server
from helpers import Stubs, call, send
from service.console.server import ConsoleServer, ConsoleSettings

pytestmark = pytest.mark.slow
OUT = Path(__file__).resolve().parents[2] / "bench" / "out" / "console"
XSS = "<script>alert(1)</script>"
TEMPLATE = "# {{ seller.name }} — Invoice {{ invoice.number }}\n\nFor **{{ bill_to.name }}**\n\n{{ lines_table }}\n\n" \
           "{{ totals_table }}\n"


def chrome(download_dir: Path, profile: Path):
    browser, driver_binary = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver_binary:
        pytest.fail("the browser tests need Debian's chromium and chromedriver: "
                    "apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--user-data-dir={profile}", "--lang=en-US"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                              "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(driver_binary), options=options)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    where = tmp_path_factory.mktemp("console-browser")
    (where / "tokens").write_text(f"{ADMIN} admin\n{AUDITOR} auditor\n")
    running = start_server(where, str(where / "tokens"))
    console = ConsoleServer(ConsoleSettings(listen="127.0.0.1:0", grpc_target=f"127.0.0.1:{running.port}",
                                            auth_enabled=True))
    port = console.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    driver = chrome(where / "downloads", where / "profile")
    screens = where / "screenshots"
    screens.mkdir()
    yield Stack(f"http://127.0.0.1:{port}", driver, Stubs(grpc.intercept_channel(channel, Token(ADMIN))), screens)
    driver.quit()
    channel.close()
    console.stop()
    running.stop(0)


def replaced(element) -> bool:
    """The page `element` belonged to is gone. Chromedriver says so as a stale element, or (seen
    under load) as an inspector error that the node "does not belong to the document"."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        if "does not belong to the document" in str(e):
            return True
        raise
    return False


class Stack:
    def __init__(self, url, driver, api, screens):
        self.url, self.driver, self.api, self.screens = url, driver, api, screens

    def open(self, path):
        self.driver.get(self.url + path)

    def find(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def button(self, text):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.XPATH, f"//*[(self::button or self::a or self::summary) and "
                                                  f"normalize-space()='{text}']")

    def press(self, text, element=None):
        """Click a button or link (or `element`) that loads a page, and wait until the new page is there."""
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait
        old = self.find("html")
        (element or self.button(text)).click()
        WebDriverWait(self.driver, 15).until(lambda d: replaced(old))
        WebDriverWait(self.driver, 15).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def has_button(self, text) -> bool:
        from selenium.webdriver.common.by import By
        return bool(self.driver.find_elements(By.XPATH, f"//*[(self::button or self::a or self::summary) and "
                                                        f"normalize-space()='{text}']"))

    def set_date(self, css, iso):
        self.driver.execute_script("const e = arguments[0]; e.value = arguments[1];"
                                   "e.dispatchEvent(new Event('input', {bubbles: true}));"
                                   "e.dispatchEvent(new Event('change', {bubbles: true}));", self.find(css), iso)

    def sign_in(self, token):
        self.driver.delete_all_cookies()
        self.open("/signin")
        self.find("#token").send_keys(token)
        self.press("Sign in")

    def text(self) -> str:
        return self.find("body").text

    def shot(self, name, width=1280):
        """`name`.png at width × 800, and `name`-full.png with the whole page."""
        OUT.mkdir(parents=True, exist_ok=True)
        self.driver.set_window_size(width, 800)
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        for suffix, size in (("", 800), ("-full", min(max(800, height + 150), 4000))):
            self.driver.set_window_size(width, size)
            path = self.screens / f"{name}{suffix}.png"
            self.driver.save_screenshot(str(path))
            shutil.copy(path, OUT / path.name)
        self.driver.set_window_size(1280, 800)

    def wait_for(self, text: str, timeout: float = 10):
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(self.driver, timeout).until(lambda d: text in self.text())

    def invoices(self, count: int = 1):
        """The API's invoice list once it holds `count` invoices (the read model follows the writes)."""
        deadline = time.monotonic() + 10
        while True:
            found = self.api.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest()).invoices
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def fetch(self, href: str) -> httpx.Response:
        """GET a link with the browser's session cookie (downloads are checked outside the browser)."""
        cookie = self.driver.get_cookie("billing_console")["value"]
        return httpx.get(href if href.startswith("http") else self.url + href, cookies={"billing_console": cookie})


def test_admin_seed_flow(stack):
    s = stack
    s.driver.delete_all_cookies()
    s.open("/signin")
    s.shot("0-signin")
    s.sign_in(ADMIN)
    assert "Resellers" in s.text() and "admin" in s.text()
    s.press("Create Reseller")
    for name, value in (("reseller_id", "r1"), ("name", "Zürich Telecom"), ("tax_id", "CHE-123.456.789"),
                        ("email", "billing@zurich.example")):
        field = s.find(f"#f-{name}")
        field.clear()
        field.send_keys(value)
    s.find("#f-address_lines").send_keys("Bahnhofstrasse 1\n8001 Zürich")
    s.find("#f-time_zone").clear()
    s.find("#f-time_zone").send_keys("Europe/Zurich")
    s.press("Save")
    assert "Reseller Zürich Telecom saved" in s.text() and "Bahnhofstrasse 1" in s.text()
    s.shot("9-reseller-details")
    reply = send(s.api, [call(f"c{i}", f"2026-03-{10 + i}T10:00:00Z", amount="12.5", group=g)
                         for i, g in enumerate(["Germany Mobile", "Germany Fixed", "Switzerland Mobile"] * 2)])
    assert reply.accepted == 6

    s.press("Invoices")
    s.press("Create Invoice")
    s.set_date("#period-start", "2026-03-01")
    s.set_date("#period-end", "2026-03-31")
    s.press("Calculate")
    assert "Not saved" in s.text() and "89.25" in s.find("#draft-total").text  # 75.00 + 19 % tax
    assert not s.api.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest()).invoices  # nothing written
    s.shot("2-reseller-invoices-draft")
    s.shot("8-reseller-invoices-draft-narrow", width=420)
    s.press("Save")
    s.wait_for("issued")
    number = s.invoices()[0].number
    assert f"Invoice {number} issued" in s.text() and "89.25 EUR" in s.find("#invoices").text

    s.find("#q").send_keys("89.25")
    s.press("Search")
    assert number in s.find("#invoices").text
    s.press("View Invoice")
    for text in ("Germany Fixed", "Subtotal", "75.00", "History", "Invoice.Issued"):
        assert text in s.text(), text
    s.shot("3-invoice")
    pdf = s.fetch(s.button("Download PDF").get_attribute("href"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    s.open("/resellers")
    s.shot("1-resellers")


def test_record_payment_and_credit_note(stack):
    """On the invoice of the seed flow (89.25 EUR): a partial payment, then a partial credit note."""
    s = stack
    s.sign_in(ADMIN)
    invoice = s.invoices()[-1]  # the seed flow's March invoice
    s.open(f"/invoices/{invoice.invoice_id}")
    assert "Unpaid" in s.text() and s.has_button("Factur-X PDF") and s.has_button("UBL XML")
    s.button("Record payment").click()  # opens the form (a <details>: works without JavaScript)
    amount = s.find("#pay-amount")
    assert amount.get_attribute("value") == "89.25"  # the outstanding amount, ready to confirm
    amount.clear()
    amount.send_keys("50.00")
    s.set_date("#pay-date", "2026-04-15")
    s.find("#pay-ref").send_keys("SEPA 2026-04-15 Zürich")
    s.press("Record payment", s.find("#action-payment button[type=submit]"))
    assert "Payment of 50.00 EUR recorded" in s.text() and "Partially paid" in s.text()
    assert "SEPA 2026-04-15 Zürich" in s.find("#payments").text

    s.button("Credit note").click()
    s.find("#cn-reason").send_keys("Germany Fixed calls re-rated")
    s.find("input[aria-label='Credit for Germany Fixed']").send_keys("30.00")  # more than the line: refused
    s.press("Issue credit note")
    assert "too much" in s.text() and s.find("#cn-reason").get_attribute("value") == "Germany Fixed calls re-rated"
    field = s.find("input[aria-label='Credit for Germany Fixed']")
    assert field.get_attribute("value") == "30.00"  # the typed values are kept beside the error
    field.clear()
    field.send_keys("5.00")
    s.press("Issue credit note")
    assert "Credit note CN-1 issued: 5.95 EUR" in s.text()  # 5.00 + 19 % tax
    assert "CN-1" in s.find("#credit-notes").text
    stored = s.api.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=invoice.invoice_id))
    assert (stored.paid_total, stored.credited_total, stored.outstanding) == ("50.00", "5.95", "33.30")
    s.shot("10-invoice-payments-credit-notes")
    s.shot("11-invoice-payments-credit-notes-narrow", width=420)
    s.button("Record payment").click()
    s.shot("12-invoice-record-payment-form")

    s.press("Factur-X PDF")  # the seller's and the reseller's e-invoice details are not there yet
    alert = s.find("#page-error").text
    assert "cannot be produced" in alert and "Seller › Country code" in alert and "Bill to › Country code" in alert
    s.shot("17-invoice-einvoice-missing-details")

    s.open("/resellers/r1/statement")
    assert "33.30" in s.find("#statement-balance").text and "Aging" in s.text()
    s.shot("13-statement")
    s.shot("14-statement-narrow", width=420)
    s.open("/resellers/r1/invoices")
    assert "Partially paid" in s.find("#invoices").text
    s.shot("15-reseller-invoices")


def test_template_upload_view_source_and_preview(stack, tmp_path):
    s = stack
    s.sign_in(ADMIN)
    source = tmp_path / "spring.txt"
    source.write_text(TEMPLATE, encoding="utf-8")
    s.open("/settings/customize")
    s.find("#tpl-name").send_keys("Spring 2026")
    s.find("#tpl-source").send_keys(str(source))
    s.press("Upload as default")
    assert "is now the default" in s.text() and "Spring 2026" in s.find("#versions").text
    view_source = s.driver.find_elements("css selector", "a[href$='/templates/1/source']")[0]
    assert view_source.get_attribute("target") == "_blank"
    raw = s.fetch(view_source.get_attribute("href"))
    assert raw.headers["content-type"].startswith("text/plain") and raw.text == TEMPLATE
    view_source.click()  # a new tab with the text
    s.driver.switch_to.window(s.driver.window_handles[-1])
    assert "{{ invoice.number }}" in s.text()
    s.driver.close()
    s.driver.switch_to.window(s.driver.window_handles[0])
    preview = s.fetch(s.driver.find_elements("css selector", "a[href$='/templates/1/preview']")[0].get_attribute("href"))
    assert preview.content.startswith(b"%PDF")
    s.shot("4-customize")


def test_numbering_pattern_applies_to_the_next_invoice(stack):
    s = stack
    s.sign_in(ADMIN)
    s.open("/settings/options")
    pattern, start = s.find("#num-pattern"), s.find("#num-start")
    pattern.clear()
    pattern.send_keys("INV-%year%-%num%")
    start.clear()
    start.send_keys("500")
    s.press("Save")
    assert "next number 500" in s.text()
    s.find("#s-id").send_keys("eu-2026")
    s.find("#s-pattern").send_keys("EU-%year%-%num%")
    s.find("#s-start").send_keys("1000")
    s.press("Save series")
    assert "Series eu-2026 saved" in s.text() and "EU-%year%-%num%" in s.find("#series").text
    s.shot("5-options")
    s.shot("16-options-narrow", width=420)
    s.open("/resellers/r1/invoices?create=1")
    s.set_date("#period-start", "2026-04-01")
    s.set_date("#period-end", "2026-04-30")
    s.press("Save")
    year = datetime.now(timezone.utc).year  # the issue date's year in Europe/Zurich; not near New Year in tests
    assert f"INV-{year}-500" in s.find("#invoices").text


def test_seller_and_audit_screens(stack):
    s = stack
    s.sign_in(ADMIN)
    s.open("/seller")
    s.find("#f-name").clear()
    s.find("#f-name").send_keys("Switchboard Networks GmbH")
    s.find("#f-address_lines").send_keys("Hauptstrasse 5\n10115 Berlin")
    s.find("#f-tax_id").send_keys("DE123456788")
    for name, value in (("postal_code", "10115"), ("city", "Berlin"), ("country_code", "DE"),
                        ("iban", "DE89370400440532013000"), ("bic", "COBADEFFXXX")):
        s.find(f"#f-{name}").send_keys(value)
    s.press("Save")
    assert "Seller details saved" in s.text()
    s.shot("6-seller")
    s.open("/audit")
    assert "Reseller" in s.find("#events").text
    s.shot("7-audit")


def test_auditor_is_read_only(stack):
    s = stack
    s.sign_in(AUDITOR)
    invoice_id = s.invoices()[0].invoice_id
    for path in ("/resellers", "/resellers/r1/invoices", f"/invoices/{invoice_id}", "/settings/customize",
                 "/settings/options", "/seller", "/resellers/r1/statement"):
        s.open(path)
        for label in ("Create Reseller", "Create Invoice", "Edit", "Save", "Void", "Make default", "Upload as default",
                      "Record payment", "Credit note", "Issue credit note", "Record refund", "Save series"):
            assert not s.has_button(label), (path, label)
    assert "read-only" in s.text().lower()
    csrf = s.find("input[name=csrf]").get_attribute("value")
    refused = httpx.post(s.url + "/settings/options/numbering", data={"csrf": csrf, "pattern": "X-%num%"},
                         cookies={"billing_console": s.driver.get_cookie("billing_console")["value"]})
    assert refused.status_code == 403


def test_csrf_and_escaping_in_the_browser(stack):
    s = stack
    s.sign_in(ADMIN)
    s.open("/resellers/new")
    s.find("#f-reseller_id").send_keys("xss")
    s.find("#f-name").send_keys(XSS)
    s.press("Save")
    assert XSS in s.text()  # shown as text
    assert s.driver.execute_script("return document.querySelectorAll('main script').length") == 0
    s.open("/resellers/r1/edit")
    s.driver.execute_script("document.querySelectorAll('input[name=csrf]').forEach(e => e.value = 'forged')")
    s.press("Save")
    assert "CSRF check failed" in s.text()
    assert s.api.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="r1")).name == "Zürich Telecom"
