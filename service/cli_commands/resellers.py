"""`billing resellers upsert|show|list`."""
import grpc

from billing.v1 import reseller_pb2, reseller_pb2_grpc
from service.cli_commands.common import (CliError, add_paging, client_command, fetch_pages, int_range,
                                         print_fields, print_json, print_page, wants_json)

NAME = "resellers"
REQUIRED = ("name", "currency", "time_zone", "tax_rate")
# Part II fields (proto3 optional): only those given are sent for a new reseller; the server keeps the rest.
OPTIONAL = ("country_code", "postal_code", "city", "vat_category", "payment_terms_days", "invoice_series_id",
            "credit_note_series_id")
VAT = {reseller_pb2.VAT_CATEGORY_STANDARD: "standard", reseller_pb2.VAT_CATEGORY_REVERSE_CHARGE: "reverse-charge"}
VAT_OPTION = {name: number for number, name in VAT.items()}


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="create, change and read resellers")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = cmds.add_parser("upsert", parents=[common], help="create a reseller or change it",
                        description="Create a reseller, or change one: options left out keep the current values.")
    p.add_argument("reseller_id", metavar="ID")
    p.add_argument("--name", help="display and bill-to name (required for a new reseller)")
    p.add_argument("--currency", help="ISO 4217 code, e.g. EUR (required for a new reseller)")
    p.add_argument("--time-zone", dest="time_zone", help="IANA zone, e.g. Europe/Berlin (required for a new reseller)")
    p.add_argument("--tax-rate", dest="tax_rate", help="decimal, 0 <= rate < 1, e.g. 0.19 (required for a new reseller)")
    p.add_argument("--address-line", dest="address_lines", action="append", metavar="LINE",
                   help="postal address line (repeat for each line; replaces all current lines)")
    p.add_argument("--clear-address", action="store_true", help="remove all address lines")
    p.add_argument("--tax-id", dest="tax_id", help="tax / VAT id ('' clears it)")
    p.add_argument("--email", help="contact e-mail ('' clears it)")
    p.add_argument("--country", dest="country_code", metavar="CC",
                   help="ISO 3166-1 alpha-2 country, e.g. DE (needed for e-invoices; '' clears it)")
    p.add_argument("--postal-code", dest="postal_code", help="postal code ('' clears it)")
    p.add_argument("--city", help="city ('' clears it)")
    p.add_argument("--vat-category", dest="vat_category", choices=list(VAT_OPTION),
                   help="standard (VAT at --tax-rate; the default) or reverse-charge (tax rate 0; documents say "
                        "'Reverse charge')")
    p.add_argument("--payment-terms-days", dest="payment_terms_days", type=int_range(0, 365), metavar="N",
                   help="days from the issue date to the due date, 0-365 (default 30; 0 = due on issue)")
    p.add_argument("--invoice-series", dest="invoice_series_id", metavar="SERIES",
                   help="numbering series of its invoices ('' = the built-in 'invoices')")
    p.add_argument("--credit-note-series", dest="credit_note_series_id", metavar="SERIES",
                   help="numbering series of its credit notes ('' = the built-in 'credit-notes')")
    p.set_defaults(func=client_command(upsert))

    p = cmds.add_parser("show", parents=[common], help="show one reseller")
    p.add_argument("reseller_id", metavar="ID")
    p.set_defaults(func=client_command(show))

    p = cmds.add_parser("list", parents=[common], help="list resellers by id")
    add_paging(p)
    p.set_defaults(func=client_command(list_))


def stub(client) -> reseller_pb2_grpc.ResellerServiceStub:
    return client.stub(reseller_pb2_grpc.ResellerServiceStub)


def upsert(client, args) -> int:
    s = stub(client)
    try:
        current = client.call(s.GetReseller, reseller_pb2.GetResellerRequest(reseller_id=args.reseller_id))
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise
        current = None
        missing = [f"--{f.replace('_', '-')}" for f in REQUIRED if getattr(args, f) is None]
        if missing:
            raise CliError(f"reseller {args.reseller_id!r} does not exist yet; to create it, give "
                           + ", ".join(missing))
    reseller = reseller_pb2.Reseller(reseller_id=args.reseller_id)
    if current is not None:
        reseller.CopyFrom(current)
        reseller.ClearField("position")
    for field in (*REQUIRED, "tax_id", "email", *OPTIONAL):
        value = getattr(args, field)
        if field == "vat_category" and value is not None:
            value = VAT_OPTION[value]
        if value is not None:
            setattr(reseller, field, value)
    if args.clear_address or args.address_lines is not None:
        del reseller.address_lines[:]
        reseller.address_lines.extend(args.address_lines or [])
    stored = client.call(s.UpsertReseller, reseller)
    output(stored, args)
    return 0


def show(client, args) -> int:
    output(client.call(stub(client).GetReseller, reseller_pb2.GetResellerRequest(reseller_id=args.reseller_id)),
           args)
    return 0


def output(r: reseller_pb2.Reseller, args) -> None:
    if wants_json(args):
        print_json(r)
        return
    print_fields([("Reseller", r.reseller_id), ("Name", r.name), ("Currency", r.currency),
                  ("Time zone", r.time_zone), ("Tax rate", r.tax_rate), ("Tax id", r.tax_id), ("E-mail", r.email),
                  ("Address", list(r.address_lines)),
                  ("Postal code", r.postal_code), ("City", r.city), ("Country", r.country_code),
                  ("VAT category", VAT.get(r.vat_category, "") if r.HasField("vat_category") else ""),
                  ("Payment terms", f"{r.payment_terms_days} days" if r.HasField("payment_terms_days") else ""),
                  ("Invoice series", r.invoice_series_id), ("Credit-note series", r.credit_note_series_id),
                  ("Position", r.position)])


def list_(client, args) -> int:
    request = reseller_pb2.ListResellersRequest(page_size=args.page_size, page_token=args.page_token)
    items, token = fetch_pages(client, stub(client).ListResellers, request, "resellers", args.all)
    print_page(items, token, "resellers", args,
               ["ID", "Name", "Country", "Currency", "Time zone", "Tax rate", "Terms", "E-mail"],
               lambda r: [r.reseller_id, r.name, r.country_code, r.currency, r.time_zone, r.tax_rate,
                          f"{r.payment_terms_days} days" if r.HasField("payment_terms_days") else "", r.email])
    return 0
