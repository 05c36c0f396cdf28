"""EN 16931 e-invoices: document model, expressibility rules, CII / UBL XML and Factur-X PDF/A-3B."""
