"""Settings read from the environment (prefix ``CREDIT_``), built where they are used."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class RateLimit(BaseModel):
    """A token bucket: ``per_second`` requests a second on average, up to ``burst`` at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_second: float = Field(gt=0, le=1_000_000)
    burst: int = Field(ge=1, le=1_000_000)


DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    # The marketplace's checkout runs on one key: well above its peak (the checkout benchmark
    # drives 1,000 authorizations a second on one key) and still a ceiling on a runaway client.
    "checkout": RateLimit(per_second=2000, burst=4000),
    "payments": RateLimit(per_second=500, burst=2000),
    # People and their scripts: a burst of 1,000 covers an export or a test run, 100 a second after.
    "finance": RateLimit(per_second=100, burst=1000),
    "analyst": RateLimit(per_second=100, burst=1000),
    "admin": RateLimit(per_second=100, burst=1000),
}
"""Each role's limit per API key, unless ``Settings.api_rate_limits`` says otherwise."""


class Settings(BaseSettings):
    """Where the service keeps its state.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of the operational store. Default: an SQLite file ``var/credit.db``
        under the working directory. For PostgreSQL:
        ``postgresql+psycopg://user@host:5432/dbname``.
    tracking_uri
        MLflow tracking and model-registry URI. Default: an SQLite file ``var/mlflow.db`` under
        the working directory, as an absolute path so that tests, notebooks and the CLI share it.
    artifact_location
        Where the ``credit-pd`` experiment keeps run and model artifacts when it is created.
        Default: ``mlruns/`` under the working directory (git-ignored).
    api_max_body_bytes
        Largest request body the HTTP API reads; a larger one is refused with 413.
    idempotency_lease_seconds
        How long an ``Idempotency-Key`` stays claimed by a request that has not finished. A
        retry after that (the first attempt's process died) runs the request again; the first
        attempt, should it still finish, cannot commit (see :mod:`api.kit.idempotency`).
    sandbox_database_url
        SQLAlchemy URL of the sandbox's store, the separate store test keys (``mck_test_...``)
        act on (docs/sandbox.md). Default: beside the operational store, an SQLite file
        ``<name>-sandbox.db`` in its folder (``var/credit-sandbox.db``) or, on PostgreSQL, the
        database ``<name>_sandbox`` on the same server (create it first).
    api_rate_limits
        Requests a second and burst allowed to each API key, by role (``checkout``,
        ``payments``, ``finance``, ``analyst``, ``admin``); a role not named keeps its
        default (:data:`DEFAULT_RATE_LIMITS`). A key over its limit is answered 429
        ``rate_limited`` with ``Retry-After``. As JSON in the environment:
        ``CREDIT_API_RATE_LIMITS='{"checkout": {"per_second": 5000, "burst": 10000}}'``.
        The buckets live in each server process: with several workers a key may send up to
        the limit to each worker.
    api_rate_limits_by_key
        Limits for single API keys, by key id, over their role's (e.g. a batch client that
        needs more, or a client to slow down): ``CREDIT_API_RATE_LIMITS_BY_KEY='{"12": {...}}'``.
    sqlite_busy_timeout_seconds
        How long a command (``credit ingest``, ...) waits for the write lock of a SQLite store
        another process is writing (the API) before it gives up, saying so in one line.
    serving_folder
        The champion PD model's serving files (``credit models export-champion --out``, and
        ``credit retrain`` when it promotes), which the API loads to score credit decisions.
        Default: ``var/serving`` under the working directory.
    serving_check_seconds
        How often a running service looks at the serving folder's version marker
        (``version.json``) and, when another export replaced it, loads the new champion
        without a restart.
    """

    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")

    database_url: str = ""
    tracking_uri: str = ""
    artifact_location: str = ""
    api_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    idempotency_lease_seconds: int = Field(default=60, ge=1, le=3600)
    api_rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    api_rate_limits_by_key: dict[int, RateLimit] = Field(default_factory=dict)
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    serving_folder: str = ""
    serving_check_seconds: float = Field(default=5.0, gt=0, le=3600)
    sandbox_database_url: str = ""

    @field_validator("api_rate_limits")
    @classmethod
    def _known_roles(cls, limits: dict[str, RateLimit]) -> dict[str, RateLimit]:
        unknown = sorted(set(limits) - set(DEFAULT_RATE_LIMITS))
        if unknown:
            raise ValueError(f"`api_rate_limits` may name the roles {', '.join(DEFAULT_RATE_LIMITS)}; got {unknown}.")
        return limits

    def rate_limit_of_role(self, role: str) -> RateLimit:
        """The limit of each key of ``role``: the configured one, else the default."""
        return self.api_rate_limits.get(role) or DEFAULT_RATE_LIMITS[role]

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path.cwd() / 'var' / 'credit.db').resolve()}"

    def resolved_sandbox_database_url(self) -> str:
        if self.sandbox_database_url:
            return self.sandbox_database_url
        from sqlalchemy.engine import make_url  # here, not at import: the CLI reads settings before its arguments are checked

        url = make_url(self.resolved_database_url())
        if url.get_backend_name() == "sqlite":
            if not url.database or url.database == ":memory:":
                return "sqlite://"
            live = Path(url.database)
            return url.set(database=str(live.with_name(f"{live.stem}-sandbox{live.suffix or '.db'}"))).render_as_string(
                hide_password=False)
        return url.set(database=f"{url.database}_sandbox").render_as_string(hide_password=False)

    def resolved_serving_folder(self) -> Path:
        if self.serving_folder:
            return Path(self.serving_folder)
        return (Path.cwd() / "var" / "serving").resolve()

    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(Path.cwd() / 'var' / 'mlflow.db').resolve()}"

    def resolved_artifact_location(self) -> str:
        if self.artifact_location:
            return self.artifact_location
        return (Path.cwd() / "mlruns").resolve().as_uri()
