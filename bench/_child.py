"""``python -m bench._child MODULE FUNCTION JSON``: run one benchmark part in a fresh process."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys

from bench._common import emit


def main(argv: list[str]) -> None:
    module, function, args = argv
    fn = getattr(importlib.import_module(f"bench.{module}"), function)
    kwargs = json.loads(args)
    result = asyncio.run(fn(**kwargs)) if inspect.iscoroutinefunction(fn) else fn(**kwargs)
    emit(result)


if __name__ == "__main__":
    main(sys.argv[1:])
