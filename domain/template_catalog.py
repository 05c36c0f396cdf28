"""The template catalogue: gap-free template versions and the default (SPEC §7).

Design. Each upload writes two aggregates in ONE atomic save:

- `TemplateCatalog` (one, fixed id): the list of versions {name, has_logo} and the default.
  Appending version n+1 is an event on it, so two concurrent uploads conflict on the
  catalogue's optimistic version check and the loser retries with n+2: numbers are
  unique and gap-free without locks. It stays small (no sources), so listing and
  "which version is the default" never load template text.
- `TemplateVersion` (id = uuid5 of the version number): one `Uploaded` event with the
  immutable name, source and logo (base64 text). Its id also collides on a race, a
  second guard against two versions with one number.

Version 0 is the built-in template; it is never stored and is the default until
another version is made default.
"""
import base64
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from domain.text import check_text
from domain.errors import NotFound
from domain.ids import NAMESPACE

BUILTIN_VERSION = 0
BUILTIN_NAME = "Built-in"
MAX_NAME = 256


def template_version_uuid(version: int) -> UUID:
    return uuid5(NAMESPACE, f"template-version:{version}")


class TemplateCatalog(Aggregate):
    """Every uploaded version's name and logo flag, in order, plus the default version."""

    @staticmethod
    def create_id() -> UUID:
        return CATALOG_ID

    @event("Opened")
    def __init__(self):
        self.entries: list[dict] = []  # entries[v - 1] = {"name": ..., "has_logo": ...}
        self.default_version = BUILTIN_VERSION

    @event("VersionAdded")
    def _add(self, version: int, name: str, has_logo: bool) -> None:
        self.entries.append({"name": name, "has_logo": has_logo})

    @event("DefaultSet")
    def _set_default(self, version: int) -> None:
        self.default_version = version

    @property
    def latest(self) -> int:
        return len(self.entries)

    def add(self, name: str, has_logo: bool, make_default: bool) -> int:
        """Append the next version (latest + 1); returns its number."""
        version = self.latest + 1
        self._add(version, name, has_logo)
        if make_default:
            self._set_default(version)
        return version

    def set_default(self, version: int) -> bool:
        """Make `version` the default; False (and no event) when it already is."""
        self.require(version)
        if version == self.default_version:
            return False
        self._set_default(version)
        return True

    def require(self, version: int) -> None:
        if not BUILTIN_VERSION <= version <= self.latest:
            raise NotFound(f"template version {version} not found")

    def entry(self, version: int) -> dict:
        self.require(version)
        if version == BUILTIN_VERSION:
            return {"name": BUILTIN_NAME, "has_logo": False}
        return self.entries[version - 1]


class TemplateVersion(Aggregate):
    """One uploaded template version; immutable (its only event is `Uploaded`)."""

    @staticmethod
    def create_id(version: int) -> UUID:
        return template_version_uuid(version)

    @event("Uploaded")
    def __init__(self, version: int, name: str, source: str, logo: str):
        self.version = version
        self.name = name
        self.source = source
        self.logo = logo  # base64 of the PNG/JPEG bytes; "" = no logo

    @property
    def logo_bytes(self) -> bytes | None:
        return base64.b64decode(self.logo) if self.logo else None


def check_template_name(name: str) -> str:
    return check_text("name", name, MAX_NAME, required=True)


CATALOG_ID = uuid5(NAMESPACE, "template-catalog")


# Stored events keep the topics they were written with: the first release stored these
# classes in `domain.templates` (SPEC Part II: topics never change).
register_topic("domain.templates:TemplateCatalog", TemplateCatalog)
register_topic("domain.templates:TemplateVersion", TemplateVersion)
