#!/usr/bin/env python3
"""test_conformance.py - the PyTorch conformance suite (tests/reference/conform.py)
for the build in $BP_BUILD, as scripts/run-tests.sh runs every tests/*.py."""
import os
import runpy
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
runpy.run_path(sys.path[0] + "/conform.py", run_name="__main__")
