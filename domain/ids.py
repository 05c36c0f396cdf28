"""The namespace of every derived (uuid5) aggregate id: natural keys become unique ids."""
from uuid import NAMESPACE_URL, uuid5

NAMESPACE = uuid5(NAMESPACE_URL, "https://switchboard-billing/")
