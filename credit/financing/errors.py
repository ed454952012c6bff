"""What can go wrong on a financing, each with the facts a caller needs to say so plainly."""

from __future__ import annotations

from credit.money import from_minor


class FinancingError(Exception):
    """A financing request the book refuses; ``code`` is the API's error code."""

    code = "financing_error"


class FinancingNotFound(FinancingError):
    code = "financing_not_found"

    def __init__(self, financing_id: int) -> None:
        super().__init__(f"Financing {financing_id} does not exist.")
        self.financing_id = financing_id


class AlreadyPaidOut(FinancingError):
    code = "already_paid_out"

    def __init__(self, financing_id: int, reference: str) -> None:
        super().__init__(f"Financing {financing_id} is already paid out (payout {reference!r}).")
        self.financing_id = financing_id
        self.reference = reference


class NotPayable(FinancingError):
    code = "financing_not_payable"

    def __init__(self, financing_id: int, status: str) -> None:
        super().__init__(f"Financing {financing_id} is {status}; only an approved financing can be paid out.")
        self.financing_id = financing_id
        self.status = status


class NotPaidOut(FinancingError):
    code = "financing_not_paid_out"

    def __init__(self, financing_id: int) -> None:
        super().__init__(f"Financing {financing_id} is not paid out yet: nothing can be collected on it.")
        self.financing_id = financing_id


class FinancingClosed(FinancingError):
    code = "financing_closed"

    def __init__(self, financing_id: int, status: str) -> None:
        super().__init__(f"Financing {financing_id} is {status}: nothing more can be booked on it.")
        self.financing_id = financing_id
        self.status = status


class ExceedsOwed(FinancingError):
    code = "amount_exceeds_owed"

    def __init__(self, financing_id: int, amount_minor: int, owed_minor: int) -> None:
        super().__init__(f"{from_minor(amount_minor)} is more than the {from_minor(owed_minor)} owed on "
                         f"financing {financing_id}.")
        self.financing_id = financing_id
        self.amount_minor = amount_minor
        self.owed_minor = owed_minor
