"""Settings read from the environment (prefix ``CREDIT_``), built where they are used."""

from __future__ import annotations

from pathlib import Path

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
    """

    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")

    database_url: str = ""
    tracking_uri: str = ""
    artifact_location: str = ""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path.cwd() / 'var' / 'credit.db').resolve()}"

    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(Path.cwd() / 'var' / 'mlflow.db').resolve()}"

    def resolved_artifact_location(self) -> str:
        if self.artifact_location:
            return self.artifact_location
        return (Path.cwd() / "mlruns").resolve().as_uri()
