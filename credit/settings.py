"""Settings read from the environment (prefix ``CREDIT_``), built where they are used."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    sqlite_busy_timeout_seconds
        How long a command (``credit ingest``, ...) waits for the write lock of a SQLite store
        another process is writing (the API) before it gives up, saying so in one line.
    serving_folder
        The champion PD model's serving files (``credit models export-champion --out``), which
        the API loads once to score credit decisions. Default: ``var/serving`` under the
        working directory.
    """

    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")

    database_url: str = ""
    tracking_uri: str = ""
    artifact_location: str = ""
    api_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    idempotency_lease_seconds: int = Field(default=60, ge=1, le=3600)
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    serving_folder: str = ""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path.cwd() / 'var' / 'credit.db').resolve()}"

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
