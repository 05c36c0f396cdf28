"""The use cases on in-memory fakes, with one reseller registered (shared by the use-case tests)."""
import pytest

from unit.fakes import terms, use_cases


@pytest.fixture
def uc():
    uc = use_cases()
    uc.resellers.upsert(terms("r1"))
    yield uc
    uc.store.close()
