"""Transaction-flow loans over HTTP: a firm's offer, accepting it, prepayments and the payoff amount."""
