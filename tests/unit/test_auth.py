"""Tokens file parsing, token lookup and the one access table (SPEC §9)."""
import pytest

from billing.v1 import audit_pb2, invoice_pb2, numbering_pb2, reseller_pb2, template_pb2, usage_pb2
from service.config import ConfigError
from service.grpc.auth import SWITCH, TokenStore, bearer_token, classify, may_call
from service.tokens import parse_tokens

ADMIN, AUDITOR, SWITCH_TOKEN = "a" * 32, "b" * 32, "c" * 32


def every_billing_rpc() -> list[str]:
    from service.grpc.services import FILES as files  # every proto file the server serves
    return [f"/{s.full_name}/{m.name}" for f in files for s in f.DESCRIPTOR.services_by_name.values()
            for m in s.methods]


def write(tmp_path, text: str) -> str:
    path = tmp_path / "tokens"
    path.write_text(text)
    return str(path)


def test_every_rpc_of_every_billing_service_is_classified_read_or_write():
    rpcs = every_billing_rpc()
    assert len(rpcs) >= 20  # every service of the package is seen
    assert [m for m in rpcs if classify(m) not in ("read", "write")] == []


def test_switch_methods_exist_and_writes_are_the_expected_ones():
    rpcs = every_billing_rpc()
    assert SWITCH <= set(rpcs)
    writes = {m.rsplit("/", 1)[1] for m in rpcs if classify(m) == "write"}
    assert writes == {"UpsertReseller", "RecordCalls", "CreateInvoice", "VoidInvoice", "UpdateNumbering",
                      "UploadTemplate", "SetDefaultTemplate", "UpdateSeller", "RebuildProjections",
                      "IssueCreditNote", "UpsertSeries", "RecordPayment", "RecordRefund"}


@pytest.mark.parametrize("method,switch,auditor", [
    ("/billing.v1.UsageService/RecordCalls", True, False),
    ("/billing.v1.UsageService/GetUsageSummary", True, True),
    ("/billing.v1.ResellerService/GetReseller", True, True),
    ("/billing.v1.ResellerService/ListResellers", False, True),
    ("/billing.v1.ResellerService/UpsertReseller", False, False),
    ("/billing.v1.InvoiceService/CalculateInvoice", False, True),
    ("/billing.v1.InvoiceService/RenderInvoicePdf", False, True),
    ("/billing.v1.InvoiceService/ExportDocumentXml", False, True),
    ("/billing.v1.ProjectionService/GetProjectionStatus", False, True),
    ("/billing.v1.ProjectionService/RebuildProjections", False, False),
    ("/billing.v1.AuditService/ListEvents", False, True),
    ("/billing.v1.AuditService/VerifyStore", False, True),
    ("/billing.v1.CreditNoteService/IssueCreditNote", False, False),
    ("/billing.v1.CreditNoteService/ListCreditNotes", False, True),
    ("/billing.v1.CreditNoteService/RenderCreditNotePdf", False, True),
    ("/billing.v1.NumberingService/UpsertSeries", False, False),
    ("/billing.v1.NumberingService/ListSeries", False, True),
    ("/billing.v1.PaymentService/RecordPayment", False, False),
    ("/billing.v1.PaymentService/RecordRefund", False, False),
    ("/billing.v1.PaymentService/ListPayments", False, True),
    ("/billing.v1.PaymentService/GetResellerStatement", False, True),
    ("/billing.v1.InvoiceService/GetInvoiceHistory", False, True),
    ("/billing.v1.InvoiceService/CreateInvoice", False, False),
    ("/billing.v1.InvoiceService/VoidInvoice", False, False),
    ("/billing.v1.TemplateService/PreviewTemplatePdf", False, True),
    ("/billing.v1.TemplateService/SetDefaultTemplate", False, False),
    ("/billing.v1.AuditService/StreamEvents", False, True),
    ("/billing.v1.FutureService/DoSomething", False, False),
])
def test_roles_may_call_what_the_spec_table_says(method, switch, auditor):
    assert may_call("switch", method) is switch
    assert may_call("auditor", method) is auditor
    assert may_call("admin", method) is True


def test_tokens_file_ignores_comments_and_blank_lines(tmp_path):
    path = write(tmp_path, f"# operators\n\n{ADMIN} admin\n   \n  {AUDITOR}   auditor  \n# {SWITCH_TOKEN} switch\n")
    store = TokenStore(path)
    assert store.role_of(ADMIN) == "admin" and store.role_of(AUDITOR) == "auditor"
    assert store.role_of(SWITCH_TOKEN) is None and store.role_of("") is None


@pytest.mark.parametrize("text,line,words", [
    (f"{ADMIN} admin\n{AUDITOR} root\n", 2, "unknown role"),
    (f"{ADMIN}\n", 1, "TOKEN ROLE"),
    (f"# c\n{ADMIN} admin extra\n", 2, "TOKEN ROLE"),
    (f"{ADMIN} admin\n{ADMIN} auditor\n", 2, "duplicate"),
])
def test_a_bad_line_is_refused_naming_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        parse_tokens(path)
    message = str(err.value)
    assert f"{path}:{line}" in message and words in message and "\n" not in message
    assert ADMIN not in message  # never echo a token


@pytest.mark.parametrize("text", ["", "# only a comment\n\n"])
def test_a_file_without_tokens_is_refused(tmp_path, text):
    with pytest.raises(ConfigError, match="no tokens"):
        parse_tokens(write(tmp_path, text))


def test_reload_keeps_the_old_tokens_when_the_new_file_is_bad(tmp_path, caplog):
    path = write(tmp_path, f"{ADMIN} admin\n")
    store = TokenStore(path)
    (tmp_path / "tokens").write_text(f"{AUDITOR} superuser\n")
    assert store.reload() is False
    assert store.role_of(ADMIN) == "admin" and store.role_of(AUDITOR) is None
    assert "keeping the previous tokens" in caplog.text and AUDITOR not in caplog.text
    (tmp_path / "tokens").write_text(f"{AUDITOR} auditor\n")
    assert store.reload() is True
    assert store.role_of(ADMIN) is None and store.role_of(AUDITOR) == "auditor"


@pytest.mark.parametrize("metadata,token", [
    ((("authorization", "Bearer abc"),), "abc"),
    ((("authorization", "bearer  abc "),), "abc"),
    ((("authorization", "Basic abc"),), None),
    ((("authorization", "Bearer "),), None),
    ((("x-other", "Bearer abc"),), None),
    ((), None),
])
def test_bearer_token_is_read_from_authorization_metadata(metadata, token):
    assert bearer_token(metadata) == token
