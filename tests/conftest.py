"""Markers of tests in modules whose owners have not placed them in the file yet.

The markers (registered in pyproject.toml): ``slow`` (whole scenarios, fresh processes,
more than a few seconds each), ``dask`` (a Dask LocalCluster), ``notebooks`` (executes
the notebooks), ``jax`` (needs JAX). ``make test`` runs everything; ``make test-fast``
runs ``-m "not slow and not dask and not notebooks and not jax"`` in about a minute.
A module's own ``pytestmark`` or decorators are the better place: move an entry there
when editing its file.
"""

import pytest

#: Node id prefixes (file, or file::test) and the marker each gets.
MARKED = {
    "tests/test_claims.py": "slow",  # every claim's small scenario, run whole
    "tests/test_kernels.py::test_normalized_gd_keeps_moving_where_the_squared_gradient_underflows":
        "slow",
    "tests/test_results.py::test_help_explains_every_verb": "slow",  # a process per verb
    "tests/test_results.py::test_killed_run_resumes_to_the_identical_result": "slow",
    "tests/test_results.py::test_run_from_a_clean_working_directory": "slow",
    "tests/test_studies_calibration.py": "slow",  # runs the entropy-floor scenario
    "tests/test_studies_margins.py": "slow",  # runs the implicit-bias scenario
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for prefix, marker in MARKED.items():
            if item.nodeid == prefix or item.nodeid.startswith((f"{prefix}::", f"{prefix}[")):
                item.add_marker(getattr(pytest.mark, marker))
