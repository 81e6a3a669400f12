"""Write ``tests/models/reference/<name>.json`` for every model that has a tester.

Run once after (re)training a model: ``python -m tests.models.make_reference [NAME ...]``. Each
file holds the weights' SHA-256 and a summary of the CPU output of the model rebuilt from its
card on the tester's fixed input; ``BaseModelTester`` compares against it.
"""

from __future__ import annotations

import json
import sys

import torch

from core.registry import get_spec
from tests.models.base import REFERENCE_DIR, file_sha256, rebuild, summarise
from tests.models.testers import all_testers


def main(names: list[str]) -> int:
    torch.set_num_threads(1)
    REFERENCE_DIR.mkdir(exist_ok=True)
    for cls in all_testers():
        if names and cls.model_name not in names:
            continue
        tester = cls()
        spec = get_spec(cls.model_name)
        output = tester.forward(rebuild(spec), tester.make_input(spec))
        record = {"model": spec.name, "weights_sha256": file_sha256(spec.weights), **summarise(output),
                  "input": f"{cls.__name__}.make_input (seeded), CPU"}
        (REFERENCE_DIR / f"{spec.name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(spec.name, record["shape"], round(record["abs_sum"], 6))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
