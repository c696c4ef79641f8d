"""Domain errors, mapped to HTTP responses in one place (core.api_errors / views)."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    status_code = 400


class Conflict(DomainError):
    status_code = 409


class NotAllowed(DomainError):
    status_code = 403


class NotFound(DomainError):
    """Missing, or another team's (the two are indistinguishable on purpose)."""

    status_code = 404
