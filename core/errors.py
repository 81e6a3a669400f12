"""Errors that carry a message meant for the user (UI and command line)."""


class MedLensError(Exception):
    """Base class: the message is shown to the user as is, in one line."""


class InputError(MedLensError):
    """The user's input (file, form, parameters) cannot be used; CLI exit code 2."""


class ModelError(MedLensError):
    """A model is unknown, its card is invalid, or its weights are missing."""
