"""The one error a bad setting raises (its own module so the tokens parser and config share it)."""


class ConfigError(Exception):
    """A bad setting; the message is one line naming the setting."""
