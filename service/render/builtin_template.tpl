{{ logo }}
**{{ seller.name }}**
{{ seller.address_lines }}
Tax ID: {{ seller.tax_id }}
{{ seller.email }}

# Invoice {{ invoice.number }}

**Issue date:** {{ invoice.issue_date }}
**Billing period:** {{ invoice.period_start }} to {{ invoice.period_end }}

## Bill to
**{{ bill_to.name }}**
{{ bill_to.address_lines }}
Tax ID: {{ bill_to.tax_id }}

{{ lines_table }}

{{ totals_table }}

## Payment details
{{ seller.bank_details }}
Please quote invoice number {{ invoice.number }} with your payment.
