"""Credit-risk estimators, evaluation, explanation and the registry wrapper (see SPEC 3.4-3.8)."""

REGISTERED_MODEL = "credit_pd"
"""The MLflow registered model every marketplace PD model is a version of."""
CHAMPION, CHALLENGER = "champion", "challenger"
"""The registry aliases: the version that scores decisions, and the one trained to replace it."""
