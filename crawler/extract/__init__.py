"""Page extraction: pure functions from a response to fields, testable without the engine."""


class ExtractionError(ValueError):
    """A page that cannot yield an item; the message says which part is missing."""
