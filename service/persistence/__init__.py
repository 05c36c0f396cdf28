"""Storage: the eventsourcing recorders plus the call ledger kept in the same database."""
