"""The admin console (SPEC §16): server-rendered pages that are a client of the gRPC API only."""
