"""`billing seller show|set`: the operator's own details printed on invoices."""
from billing.v1 import template_pb2, template_pb2_grpc
from service.cli_commands.common import OK, CliError, client_command, print_fields, print_json, wants_json

NAME = "seller"
FIELDS = ("name", "tax_id", "email", "bank_details", "country_code", "postal_code", "city", "iban", "bic")


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="the operator's own details (printed as the seller)")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = cmds.add_parser("show", parents=[common], help="show the seller details")
    p.set_defaults(func=client_command(show))

    p = cmds.add_parser("set", parents=[common], help="change the seller details",
                        description="Options left out keep their current values. New invoices print the new "
                                    "details; invoices issued before keep the details stored before them.")
    p.add_argument("--name", help="legal name (required the first time)")
    p.add_argument("--address-line", dest="address_lines", action="append", metavar="LINE",
                   help="postal address line (repeat for each line; replaces all current lines)")
    p.add_argument("--clear-address", action="store_true", help="remove all address lines")
    p.add_argument("--tax-id", dest="tax_id", help="tax / VAT id ('' clears it)")
    p.add_argument("--email", help="contact e-mail ('' clears it)")
    p.add_argument("--bank-details", dest="bank_details",
                   help="payment details as printed, e.g. IBAN and BIC; line breaks are kept ('' clears it)")
    p.add_argument("--country", dest="country_code", metavar="CC",
                   help="ISO 3166-1 alpha-2 country, e.g. DE (needed for e-invoices; '' clears it)")
    p.add_argument("--postal-code", dest="postal_code", help="postal code ('' clears it)")
    p.add_argument("--city", help="city ('' clears it)")
    p.add_argument("--iban", help="IBAN, check digits validated; the e-invoices' payment account ('' clears it)")
    p.add_argument("--bic", help="BIC / SWIFT code ('' clears it)")
    p.set_defaults(func=client_command(set_))


def stub(client) -> template_pb2_grpc.TemplateServiceStub:
    return client.stub(template_pb2_grpc.TemplateServiceStub)


def show(client, args) -> int:
    output(client.call(stub(client).GetSeller, template_pb2.GetSellerRequest()), args)
    return OK


def set_(client, args) -> int:
    changes = [f for f in FIELDS if getattr(args, f) is not None]
    if not changes and args.address_lines is None and not args.clear_address:
        raise CliError("nothing to change: give at least one of --name, --address-line, --clear-address, "
                       "--tax-id, --email, --bank-details, --country, --postal-code, --city, --iban, --bic")
    seller = client.call(stub(client).GetSeller, template_pb2.GetSellerRequest())
    seller.ClearField("position")
    for field in changes:
        setattr(seller, field, getattr(args, field))
    if args.clear_address or args.address_lines is not None:
        seller.ClearField("address_lines")
        seller.address_lines.extend(args.address_lines or [])
    output(client.call(stub(client).UpdateSeller, seller), args)
    return OK


def output(s: template_pb2.Seller, args) -> None:
    if wants_json(args):
        print_json(s)
        return
    print_fields([("Name", s.name), ("Address", list(s.address_lines)), ("Postal code", s.postal_code),
                  ("City", s.city), ("Country", s.country_code), ("Tax ID", s.tax_id), ("E-mail", s.email),
                  ("Bank details", s.bank_details.splitlines()), ("IBAN", s.iban), ("BIC", s.bic),
                  ("Position", s.position)])
