"""`billing statement RESELLER [--as-of D]`: who owes what as of a day, with aging (SPEC §14)."""
from billing.v1 import payment_pb2
from service.cli_commands.common import (OK, client_command, fmt_date, fmt_optional_date, money, parse_date,
                                         print_fields, print_json, print_table, wants_json)
from service.cli_commands.payments import stub

NAME = "statement"
AGING = (("Current (not yet due)", "current"), ("1–30 days overdue", "days_1_30"),
         ("31–60 days overdue", "days_31_60"), ("61–90 days overdue", "days_61_90"),
         ("> 90 days overdue", "days_over_90"))


def register(sub, common) -> None:
    p = sub.add_parser(NAME, parents=[common], help="a reseller's open invoices, balance and aging as of a day",
                       description="One line per invoice still open as of the day (payments received and credit "
                                   "notes issued on or before it), the balance, and the outstanding amounts by "
                                   "days past due.")
    p.add_argument("reseller_id", metavar="RESELLER")
    p.add_argument("--as-of", dest="as_of", type=parse_date, metavar="YYYY-MM-DD",
                   help="the statement's day (default: today in the reseller's time zone)")
    p.set_defaults(func=client_command(statement))


def statement(client, args) -> int:
    request = payment_pb2.GetResellerStatementRequest(reseller_id=args.reseller_id)
    if args.as_of is not None:
        request.as_of.CopyFrom(args.as_of)
    s = client.call(stub(client).GetResellerStatement, request)
    if wants_json(args):
        print_json(s)
        return OK
    c = s.currency
    print(f"Statement of {s.reseller_id} as of {fmt_date(s.as_of)} ({c})")
    print()
    if s.lines:
        print_table(["Number", "Issued", "Due", "Total", "Credited", "Paid", "Outstanding", "Days overdue"],
                    [[line.number, fmt_date(line.issue_date), fmt_optional_date(line, "due_date"),
                      money(line.total, c), money(line.credited, c), money(line.paid, c),
                      money(line.outstanding, c), line.days_overdue or ""] for line in s.lines],
                    right=("Total", "Credited", "Paid", "Outstanding", "Days overdue"))
    else:
        print("no open invoices")
    print()
    print_fields([("Balance", money(s.balance, c))])
    print()
    print_table(["Aging", "Outstanding"], [[label, money(getattr(s.aging, field), c)] for label, field in AGING],
                right=("Outstanding",))
    return OK
