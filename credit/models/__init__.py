"""Credit-risk estimators, evaluation, explanation and the registry wrapper (see SPEC 3.4-3.8)."""
