"""Audit: the event stream's payloads and `billing audit verify`."""
