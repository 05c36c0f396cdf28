"""Admin command groups of the `billing` CLI: one module per group (see service/cli.py COMMAND_GROUPS)."""
