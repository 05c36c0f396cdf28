{{ logo }}
**{{ seller.name }}**
{{ seller.address_lines }}
{{ seller.postal_code }} {{ seller.city }}
Tax ID: {{ seller.tax_id }}
{{ seller.email }}

# {{ document.title }} {{ invoice.number }}

{{ document.reference }}

**Issue date:** {{ invoice.issue_date }}
**Billing period:** {{ invoice.period_start }} to {{ invoice.period_end }}
**Due date:** {{ invoice.due_date }}

## Bill to
**{{ bill_to.name }}**
{{ bill_to.address_lines }}
{{ bill_to.postal_code }} {{ bill_to.city }}
Tax ID: {{ bill_to.tax_id }}

{{ lines_table }}

{{ totals_table }}

**{{ document.vat_note }}**

## Payment details
{{ seller.bank_details }}
IBAN: {{ seller.iban }}
BIC: {{ seller.bic }}
Please quote {{ invoice.number }} with any payment or question about this document.
