"""``python -m timestep.cli``: the same as the ``timestep`` console script."""

from timestep.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
