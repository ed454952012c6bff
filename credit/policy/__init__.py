"""Credit policy as versioned configuration: grades, knock-outs, limits, rates, fees and caps.

The decision functions (:mod:`credit.decisions`) read every threshold from a
:class:`Policy`; no number that a credit committee would change lives in code.
"""

from credit.policy.document import PolicyDocument
from credit.policy.loading import DEFAULT_POLICY, Policy, PolicyError, default_policy, parse_policy

__all__ = ["DEFAULT_POLICY", "Policy", "PolicyDocument", "PolicyError", "default_policy", "parse_policy"]
