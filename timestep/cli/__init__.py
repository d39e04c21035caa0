"""The ``timestep`` command line: a thin client of the durable API.

Every command resolves the database once (``--db``, else ``timestep.config``'s order), calls
the same public functions a program would, and prints a rich view for people or JSON for
scripts. ``main(argv) -> int`` runs it in-process; errors end as one line on stderr.
"""

from timestep.cli._main import cli, main

__all__ = ["cli", "main"]
