"""Every screen of the console; each module's `routes` lists its pages."""
from service.console.views import audit, auth, invoice, invoices, resellers, seller, settings

ALL_ROUTES = [auth.routes, resellers.routes, invoices.routes, invoice.routes, settings.routes, seller.routes,
              audit.routes, resellers.fallback]
