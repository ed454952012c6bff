"""What the decision service originated: credit-line applications (tables only; financings are credit.financing)."""
