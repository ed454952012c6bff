"""The sandbox: a separate store that test keys act on, seeded with test buyers whose answers are fixed, and its own clock.

- :mod:`~credit.sandbox.buyers`: the documented test buyers (docs/sandbox.md) and the model
  identity their scores carry;
- :mod:`~credit.sandbox.seed`: empty the sandbox's store and seed them (``credit sandbox reset``);
- :mod:`~credit.sandbox.moves`: the sandbox's clock, an offset ahead of the real one, moved
  forward with the daily work that falls due;
- :mod:`~credit.sandbox.tables`: where that offset is kept.

Which store a request acts on is the service's business (:mod:`api.kit.sandbox`); the library
only ever sees the session it is given.
"""
