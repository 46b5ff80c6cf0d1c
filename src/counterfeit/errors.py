"""The one exception type the CLI turns into a clean one-line message and exit code 2."""


class UserError(Exception):
    """Bad input from the user: a file, an option or a value.

    The message must name the file or option and say what is wrong, in one line,
    because the CLI prints it as-is on stderr with no traceback.
    """

    exit_code = 2


class DataError(UserError):
    """A data file that cannot be read as images (and labels)."""


class ConfigError(UserError):
    """An unknown preset or config key, or a value of the wrong type or range."""
