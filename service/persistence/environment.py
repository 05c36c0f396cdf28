"""The eventsourcing library's persistence settings for our database (passed as the app's env)."""
from service.config import Database

# The library's aggregate cache, so an aggregate is not replayed from its last snapshot on
# every load (the counter is loaded for every invoice), with fast-forward: one indexed query
# for newer events per load. Fast-forward stays on for SQLite too: without it, two racing
# saves of one aggregate may put the older state into the cache last (stale reads), and the
# library's LRUCache.clear() does not empty the cache, so such an entry could not be dropped.
CACHE_ENV = {"AGGREGATE_CACHE_MAXSIZE": "2000", "AGGREGATE_CACHE_FASTFORWARD": "y",
             "DEEPCOPY_FROM_AGGREGATE_CACHE": "y"}


def library_env(db: Database) -> dict[str, str]:
    return {**CACHE_ENV, **_backend_env(db)}


def postgres_dsn(db: Database) -> dict | None:
    if db.kind == "sqlite":
        return None
    return {"host": db.host, "port": db.port, "user": db.user, "password": db.password or None,
            "dbname": db.dbname}


def _backend_env(db: Database) -> dict[str, str]:
    if db.kind == "sqlite":
        return {"PERSISTENCE_MODULE": "service.persistence.sqlite_store:TunedSQLiteFactory",
                "SQLITE_DBNAME": db.path, "SQLITE_LOCK_TIMEOUT": "30", "SQLITE_SYNCHRONOUS": db.synchronous,
                "APPLICATION_RECORDER_TOPIC": "service.persistence.recorders:SQLiteBillingRecorder"}
    return {"PERSISTENCE_MODULE": "service.persistence.postgres_store:TunedPostgresFactory",
            "POSTGRES_DBNAME": db.dbname,
            "POSTGRES_HOST": db.host, "POSTGRES_PORT": str(db.port), "POSTGRES_USER": db.user,
            "POSTGRES_PASSWORD": db.password, "POSTGRES_POOL_SIZE": "10", "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "30", "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            # A pooled connection is checked before use (a restarted database costs no failed
            # request), and a free connection is waited for at most 5 s: a database that is down
            # answers UNAVAILABLE after that, not after the library's 30.
            "POSTGRES_PRE_PING": "y", "POSTGRES_CONNECT_TIMEOUT": "5",
            "APPLICATION_RECORDER_TOPIC": "service.persistence.recorders:PostgresBillingRecorder"}
